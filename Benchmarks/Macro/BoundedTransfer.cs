using System.Diagnostics;
using System.Net.Sockets;

namespace UserStack.Benchmarks.Macro;

/// <summary>What one bulk transfer achieved: bytes at the receiver and when the last one (and EOF) came.</summary>
public readonly record struct TransferResult(long Bytes, long Asked, TimeSpan Elapsed, bool Complete)
{
    public double Mbps => Elapsed > TimeSpan.Zero ? Bytes * 8 / Elapsed.TotalSeconds / 1e6 : 0;
    public override string ToString() => Complete
        ? $"{Bytes / MiB:0.0} MiB in {Elapsed.TotalSeconds:0.00} s"
        : $"INCOMPLETE: {Bytes / MiB:0.0} of {Asked / MiB:0.0} MiB in {Elapsed.TotalSeconds:0.0} s";
    private const double MiB = 1 << 20;
}

/// <summary>
/// One bulk transfer bounded in bytes and time: a sender writes at most <c>total</c> bytes and
/// stops at the deadline; a sink counts until EOF, and is closed from outside if the deadline
/// (plus a little grace for the tail) passes first. Goodput is measured at the sink.
/// </summary>
public sealed class BoundedTransfer(long total, TimeSpan limit)
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private long received;
    private long lastByteTicks;
    private volatile bool endOfStream;
    private IDisposable? connection;

    public long Total => total;
    public TimeSpan Limit => limit;
    public TimeSpan Left => limit - clock.Elapsed;

    /// <summary>Starts the sink: <paramref name="accept"/> returns the connection and a receive call on it.</summary>
    public Task StartSink(Func<(IDisposable Connection, Func<byte[], int> Receive)> accept) => Task.Run(() =>
    {
        try
        {
            var (c, receive) = accept();
            connection = c;
            var buffer = new byte[1 << 16];
            int n;
            while ((n = receive(buffer)) > 0)
            {
                Interlocked.Add(ref received, n);
                Volatile.Write(ref lastByteTicks, clock.Elapsed.Ticks);
            }
            Volatile.Write(ref lastByteTicks, clock.Elapsed.Ticks);
            endOfStream = true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { } // closed at the deadline
    });

    /// <summary>Writes up to the total in 64 KiB chunks until done or the deadline; then half-closes. Returns bytes written.</summary>
    public long Send(Func<byte[], int, int, int> send, Action shutdown)
    {
        var chunk = new byte[1 << 16];
        new Random(1).NextBytes(chunk);
        long sent = 0;
        try
        {
            while (sent < total && clock.Elapsed < limit)
                sent += send(chunk, 0, (int)Math.Min(chunk.Length, total - sent));
            shutdown();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { } // timed out at the deadline
        return sent;
    }

    /// <summary>Waits for the sink within the bound; closes what is still open; the result as the sink saw it.</summary>
    public TransferResult Finish(Task sink, params IDisposable?[] alsoClose)
    {
        var left = Left + Grace;
        bool done = sink.Wait(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        if (!done)
        {
            connection?.Dispose();
            foreach (var d in alsoClose) d?.Dispose();
            sink.Wait(Grace);
        }
        bool complete = done && endOfStream && Interlocked.Read(ref received) == total;
        var elapsed = complete ? TimeSpan.FromTicks(Volatile.Read(ref lastByteTicks)) : clock.Elapsed;
        connection?.Dispose();
        return new TransferResult(Interlocked.Read(ref received), total, elapsed, complete);
    }
}
