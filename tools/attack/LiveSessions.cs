using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace UserStack.Attack;

/// <summary>
/// What must keep working during an attack: an echo session sending a line every 50 ms (its worst
/// wait for the echo is recorded per phase), a bulk transfer to the discard port, and new connections.
/// </summary>
internal sealed class LiveSessions : IDisposable
{
    private readonly IPAddress address;
    private readonly CancellationTokenSource stop = new();
    private readonly Thread echo, bulk;
    private readonly object gate = new();
    private double worstEchoMs;
    private long bulkBytes;
    private TcpClient? bulkClient;
    public string? EchoFailure { get; private set; }

    public LiveSessions(IPAddress address)
    {
        this.address = address;
        echo = new Thread(EchoLoop) { IsBackground = true, Name = "echo-session" };
        bulk = new Thread(BulkLoop) { IsBackground = true, Name = "bulk-transfer" };
    }

    public void Start()
    {
        echo.Start();
        bulk.Start();
    }

    /// <summary>The worst echo wait since the last call (ms), and the bulk bytes sent since then.</summary>
    public (double WorstEchoMs, long BulkBytes) TakePhase()
    {
        lock (gate)
        {
            var r = (worstEchoMs, bulkBytes);
            worstEchoMs = 0;
            bulkBytes = 0;
            return r;
        }
    }

    private void EchoLoop()
    {
        try
        {
            using var client = new TcpClient { NoDelay = true, ReceiveTimeout = 5000, SendTimeout = 5000 };
            client.Connect(address, 7);
            var stream = client.GetStream();
            var buffer = new byte[256];
            for (long n = 0; !stop.IsCancellationRequested; n++)
            {
                var line = Encoding.ASCII.GetBytes($"line {n} from the live echo session\n");
                var clock = Stopwatch.StartNew();
                stream.Write(line);
                int got = 0;
                while (got < line.Length)
                {
                    int r = stream.Read(buffer, got, buffer.Length - got);
                    if (r == 0) throw new IOException("the echo server closed the session");
                    got += r;
                }
                double ms = clock.Elapsed.TotalMilliseconds;
                if (!buffer.AsSpan(0, line.Length).SequenceEqual(line)) throw new IOException($"echo of line {n} differs");
                lock (gate) worstEchoMs = Math.Max(worstEchoMs, ms);
                Thread.Sleep(Math.Max(0, 50 - (int)ms));
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            if (!stop.IsCancellationRequested) { EchoFailure = e.Message; lock (gate) worstEchoMs = double.PositiveInfinity; }
        }
    }

    private void BulkLoop()
    {
        try
        {
            using var client = bulkClient = new TcpClient { SendTimeout = 5000 };
            client.Connect(address, 9);
            var stream = client.GetStream();
            var chunk = new byte[16384];
            while (!stop.IsCancellationRequested)
            {
                stream.Write(chunk);
                lock (gate) bulkBytes += chunk.Length;
            }
        }
        catch (Exception e) when (e is IOException or SocketException) { }
    }

    /// <summary>A new connection to the echo port: connect, one line echoed, all within 1 s. Null when it worked; else why not.</summary>
    public static string? TryNewConnection(IPAddress address, out double ms)
    {
        var clock = Stopwatch.StartNew();
        ms = double.NaN;
        try
        {
            using var client = new TcpClient { NoDelay = true, ReceiveTimeout = 1000, SendTimeout = 1000 };
            if (!client.ConnectAsync(address, 7).Wait(1000)) return "connect took more than 1 s";
            var stream = client.GetStream();
            stream.Write("probe\n"u8);
            var buffer = new byte[6];
            int got = 0;
            while (got < 6)
            {
                int r = stream.Read(buffer, got, 6 - got);
                if (r == 0) return "closed before the echo";
                got += r;
            }
            ms = clock.Elapsed.TotalMilliseconds;
            return ms > 1000 ? $"took {ms:0} ms" : null;
        }
        catch (Exception e) when (e is IOException or SocketException or AggregateException)
        {
            return e.GetBaseException().Message;
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        bulkClient?.Close(); // a write blocked on the window ends
        echo.Join(TimeSpan.FromSeconds(6));
        bulk.Join(TimeSpan.FromSeconds(6));
    }
}
