using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using UserStack.Tools.Scene;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>Connections completed per second, and how many attempts failed.</summary>
public readonly record struct RateResult(long Completed, long Failed, TimeSpan Elapsed)
{
    public double PerSecond => Completed / Elapsed.TotalSeconds;
    public string Note => $"{Completed:N0} in {Elapsed.TotalSeconds:0.0} s, {ConnectRate.Threads} threads{(Failed > 0 ? $", {Failed} failed" : "")}";
}

/// <summary>
/// Connections per second: <see cref="Threads"/> kernel client threads in the client namespace
/// each connect, send one byte, read its echo and close, over and over for the duration (and at
/// most <see cref="MaxPerThread"/> times). The targets: UserStack's echo daemon, and
/// <see cref="KernelEcho"/> in the server namespace.
/// </summary>
public static class ConnectRate
{
    public const int Threads = 8;
    public const int MaxPerThread = 200_000;

    public static RateResult Measure(NetworkNamespace ns, string ip, int port, TimeSpan duration)
    {
        var target = new IPEndPoint(IPAddress.Parse(ip), port);
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Threads)
            .Select(_ => Task.Factory.StartNew(() => ns.RunInside(() => Loop(target, clock, duration)), TaskCreationOptions.LongRunning))
            .ToArray();
        Task.WaitAll(workers);
        var elapsed = clock.Elapsed;
        return new RateResult(workers.Sum(w => w.Result.Completed), workers.Sum(w => w.Result.Failed), elapsed);
    }

    private static (long Completed, long Failed) Loop(IPEndPoint target, Stopwatch clock, TimeSpan duration)
    {
        var one = new byte[1];
        var reply = new byte[1];
        long completed = 0, failed = 0;
        for (int i = 0; i < MaxPerThread && clock.Elapsed < duration; i++)
        {
            try
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 5000, SendTimeout = 5000 };
                s.Connect(target); // a lost SYN gives up after ~7 s (tcp_syn_retries=2 in the namespace)
                s.Send(one);
                if (s.Receive(reply) == 1) completed++; else failed++;
            }
            catch (SocketException) { failed++; }
        }
        return (completed, failed);
    }

    /// <summary>An echo server on kernel sockets (accept, echo until EOF, close), async like the stack's echo daemon.</summary>
    public sealed class KernelEcho : IDisposable
    {
        private readonly Socket listener;
        private readonly Task accepting;

        public KernelEcho(NetworkNamespace ns, int port)
        {
            listener = ns.ListenTcp(port, backlog: 512);
            accepting = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        var c = await listener.AcceptAsync();
                        _ = Task.Run(() => Echo(c));
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            });
        }

        private static async Task Echo(Socket c)
        {
            using (c)
            {
                var buffer = new byte[16384];
                try
                {
                    int n;
                    while ((n = await c.ReceiveAsync(buffer)) > 0) await c.SendAsync(buffer.AsMemory(0, n));
                }
                catch (SocketException) { }
            }
        }

        public void Dispose()
        {
            listener.Dispose();
            accepting.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
