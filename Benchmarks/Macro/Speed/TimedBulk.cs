using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using UserStack.Tools.Scene;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>What one timed bulk transfer delivered: bytes, and the time until the receiver had them all.</summary>
public readonly record struct BulkResult(long Bytes, TimeSpan Elapsed)
{
    public double Gbps => Elapsed > TimeSpan.Zero ? Bytes * 8 / Elapsed.TotalSeconds / 1e9 : 0;
    public string Note => $"{Bytes / 1e6:0} MB in {Elapsed.TotalSeconds:0.00} s";
}

/// <summary>
/// The one bulk client of the speed rows: writes 64 KiB chunks for the duration, half-closes,
/// and waits for the receiver's close, so the time counts every byte delivered (not just queued).
/// The same loop drives a kernel socket and a UserStack socket.
/// </summary>
public static class TimedBulk
{
    public static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(10);

    public static BulkResult Send(Func<byte[], int> send, Action shutdown, Func<byte[], int> receive, TimeSpan duration)
    {
        var chunk = new byte[64 * 1024];
        new Random(1).NextBytes(chunk);
        long total = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration) total += send(chunk);
        shutdown();
        while (receive(chunk) > 0) { } // the receiver closes after our FIN: everything arrived
        return new BulkResult(total, clock.Elapsed);
    }

    /// <summary>The loop of <see cref="Send"/> with a UserStack socket's async calls: 64 KiB sends for the duration, half-close, wait for the peer's close.</summary>
    public static async Task<BulkResult> SendAsync(UserStack.Sockets.Api.UserSocket s, TimeSpan duration)
    {
        var chunk = new byte[64 * 1024];
        new Random(1).NextBytes(chunk);
        long total = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            await s.SendAsync(chunk);
            total += chunk.Length;
        }
        s.Shutdown(SocketShutdown.Send);
        using var giveUp = new CancellationTokenSource(CloseWait);
        while (await s.ReceiveAsync(chunk, giveUp.Token) > 0) { } // the receiver closes after our FIN: everything arrived
        return new BulkResult(total, clock.Elapsed);
    }

    /// <summary>A kernel socket in <paramref name="ns"/> sending to <paramref name="ip"/>:<paramref name="port"/>.</summary>
    public static BulkResult FromKernel(NetworkNamespace ns, string ip, int port, TimeSpan duration) => ns.RunInside(() =>
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        { SendTimeout = (int)CloseWait.TotalMilliseconds, ReceiveTimeout = (int)CloseWait.TotalMilliseconds };
        s.Connect(new IPEndPoint(IPAddress.Parse(ip), port));
        return Send(s.Send, () => s.Shutdown(SocketShutdown.Send), s.Receive, duration);
    });

    /// <summary>
    /// A kernel sink in <paramref name="ns"/> on <paramref name="port"/>: accepts one connection,
    /// reads to its end, closes. Dispose stops it if nobody came.
    /// </summary>
    public sealed class KernelSink : IDisposable
    {
        private readonly Socket listener;
        private readonly Task draining;

        public KernelSink(NetworkNamespace ns, int port)
        {
            listener = ns.ListenTcp(port);
            draining = Task.Run(() =>
            {
                try
                {
                    using var c = listener.Accept();
                    c.ReceiveTimeout = (int)CloseWait.TotalMilliseconds;
                    var buffer = new byte[1 << 16];
                    while (c.Receive(buffer) > 0) { }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            });
        }

        public void Dispose()
        {
            listener.Dispose();
            draining.Wait(CloseWait);
        }
    }
}
