using System.Runtime.CompilerServices;
using UserStack.Diagnostics;
using UserStack.Drivers.Virtual;
using UserStack.Sockets.Api;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// TIME-WAIT as a small record (issue 12; Linux's inet_timewait_sock): a connection whose socket
/// is closed hands TIME-WAIT to a TimeWaitRecord and leaves the stack, so that thousands of closed
/// connections cost a few hundred bytes each and nothing of their sockets. The RFC rules the record
/// keeps are the time-wait packetdrill scripts'.
/// </summary>
public class TimeWaitRecordTests
{
    private const ushort Port = 80;

    /// <summary>A opens <paramref name="count"/> connections to B, closes them first (A keeps TIME-WAIT), B closes on the FIN.</summary>
    private static void OpenAndClose(WiredPair w, TcpConnection listener, int count)
    {
        for (int done = 0; done < count;)
        {
            int batch = Math.Min(200, count - done);
            var clients = new List<TcpConnection>();
            for (int i = 0; i < batch; i++)
            {
                var c = w.A.Tcp.Open();
                Assert.That(w.A.Tcp.Connect(c, new Endpoint(WiredPair.AddressB, Port), w.Wire.Now), Is.EqualTo(Errno.Ok));
                clients.Add(c);
            }
            var servers = new List<TcpConnection>();
            Assert.That(w.Wire.RunUntil(() => { while (listener.TakeAccepted() is { } s) servers.Add(s); return servers.Count == batch; }, TimeSpan.FromSeconds(30)), "all accepted");
            foreach (var c in clients) w.A.Tcp.Close(c, w.Wire.Now);
            clients.Clear();
            Assert.That(w.Wire.RunUntil(() =>
            {
                foreach (var s in servers.ToList())
                    if (s.FinReceived) { w.B.Tcp.Close(s, w.Wire.Now); servers.Remove(s); }
                return servers.Count == 0 && w.A.Tcp.Connections.Count == 0 && w.B.Tcp.Connections.Count == 0;
            }, TimeSpan.FromSeconds(30)), "all closed");
            done += batch;
        }
    }

    private static (WiredPair, TcpConnection) Pair()
    {
        var w = new WiredPair(7, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var listener = w.B.Tcp.Open();
        Assert.That(w.B.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, Port)), Is.EqualTo(Errno.Ok));
        Assert.That(w.B.Tcp.Listen(listener, 4096, w.Wire.Now), Is.EqualTo(Errno.Ok));
        return (w, listener);
    }

    [Test]
    public void Two_thousand_closed_connections_keep_time_wait_in_small_records()
    {
        const int count = 2000;
        var (w, listener) = Pair();
        // A first round fills every table to the size the second needs, and leaves TIME-WAIT.
        OpenAndClose(w, listener, count);
        w.Wire.RunFor(TimeSpan.FromSeconds(61));
        Assert.That(w.A.Tcp.TimeWaits.Count, Is.Zero, "2 MSL later the first round's records are gone");
        long before = GC.GetTotalMemory(forceFullCollection: true);

        OpenAndClose(w, listener, count);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.That(w.A.Tcp.TimeWaits.Count, Is.EqualTo(count), "every closed connection of A is a TIME-WAIT record");
        Assert.That(w.A.Counters[Counter.TcpTimeWaitRecords], Is.EqualTo(2 * count));

        // The bound: the record itself; the weak reference to the connection it replaced (32 bytes with
        // its handle); a list of one for its port in the records' port table (each client record has
        // its own ephemeral port), 64 bytes; the timer-queue handles both sides left queued until their
        // deadlines (FIN-WAIT-2 on A, the FIN's retransmission on B), 32 bytes each; 32 bytes of slack.
        // A whole connection costs about 1.4 KB.
        long recordBytes = RecordSize();
        double perEntry = (after - before) / (double)count;
        TestContext.Out.WriteLine($"record {recordBytes} B; {perEntry:0} B per TIME-WAIT entry");
        Assert.That(perEntry, Is.LessThan(recordBytes + 32 + 64 + 2 * 32 + 32), $"{perEntry:0} B per TIME-WAIT entry, the record alone is {recordBytes} B");
        GC.KeepAlive(w);
    }

    private static long RecordSize()
    {
        var endpoint = new Endpoint(WiredPair.AddressA, 1);
        long start = GC.GetAllocatedBytesForCurrentThread();
        var record = new TimeWaitRecord(endpoint, endpoint, false);
        long size = GC.GetAllocatedBytesForCurrentThread() - start;
        GC.KeepAlive(record);
        return size;
    }

    [Test]
    public void A_closed_connection_in_time_wait_is_unreachable_but_its_record_answers()
    {
        var (w, listener) = Pair();
        var weak = CloseOne(w, listener);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(weak.IsAlive, Is.False, "the stack holds no reference to a closed connection in TIME-WAIT");
        var record = w.A.Tcp.TimeWaits.All.Single();
        Assert.That(record.State, Is.EqualTo(TcpState.TimeWait));
        Assert.That(record.Local.Address, Is.EqualTo(WiredPair.AddressA), "the record has the address the connection sent from");
        Assert.That(w.A.Tcp.CheckInvariants(w.Wire.Now), Is.Null);
        w.Wire.RunFor(TimeSpan.FromSeconds(61));
        Assert.That(w.A.Tcp.TimeWaits.Count, Is.Zero, "2 MSL later the record is gone");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CloseOne(WiredPair w, TcpConnection listener) => new(CloseInTimeWait(w, listener));

    /// <summary>A connects to B (from <paramref name="localPort"/> if given), closes first and goes to TIME-WAIT, which a record takes over.</summary>
    private static TcpConnection CloseInTimeWait(WiredPair w, TcpConnection listener, ushort localPort = 0)
    {
        var client = w.A.Tcp.Open();
        if (localPort != 0) Assert.That(w.A.Tcp.Bind(client, new Endpoint(Ipv4Address.Any, localPort)), Is.EqualTo(Errno.Ok));
        w.A.Tcp.Connect(client, new Endpoint(WiredPair.AddressB, Port), w.Wire.Now);
        TcpConnection? server = null;
        Assert.That(w.Wire.RunUntil(() => (server ??= listener.TakeAccepted()) is not null, TimeSpan.FromSeconds(5)));
        w.A.Tcp.Close(client, w.Wire.Now);
        Assert.That(w.Wire.RunUntil(() => server!.FinReceived, TimeSpan.FromSeconds(5)));
        w.B.Tcp.Close(server!, w.Wire.Now);
        Assert.That(w.Wire.RunUntil(() => w.A.Tcp.TimeWaits.Count == 1, TimeSpan.FromSeconds(5)));
        Assert.That(w.A.Tcp.Connections, Is.Empty, "the connection left the stack");
        return client;
    }

    [Test]
    public void A_time_wait_record_keeps_its_port_in_use_until_2msl()
    {
        var (w, listener) = Pair();
        CloseInTimeWait(w, listener, localPort: 40000);

        var again = w.A.Tcp.Open();
        Assert.That(w.A.Tcp.Bind(again, new Endpoint(Ipv4Address.Any, 40000)), Is.EqualTo(Errno.EADDRINUSE), "bind: the record holds the port");
        again.ReuseAddress = true;
        Assert.That(w.A.Tcp.Bind(again, new Endpoint(Ipv4Address.Any, 40000)), Is.EqualTo(Errno.EADDRINUSE), "SO_REUSEADDR on one side only is not enough");
        Assert.That(w.A.Tcp.Connect(again, new Endpoint(WiredPair.AddressB, Port), w.Wire.Now), Is.EqualTo(Errno.Ok), "an ephemeral port instead");
        Assert.That(again.Local.Port, Is.Not.EqualTo(40000));

        w.Wire.RunFor(TimeSpan.FromSeconds(61));
        var third = w.A.Tcp.Open();
        Assert.That(w.A.Tcp.Bind(third, new Endpoint(Ipv4Address.Any, 40000)), Is.EqualTo(Errno.Ok), "after 2 MSL the port is free");
    }

    [Test]
    public void A_closed_socket_in_time_wait_leaves_no_reference_to_the_socket()
    {
        using var pair = new HostedPair();
        using var listener = UserSocket.Tcp(pair.B);
        listener.Bind(new Endpoint(Ipv4Address.Any, 8081));
        listener.Listen(4);
        var weak = CloseSocket(pair, listener);
        Assert.That(SpinWait.SpinUntil(() => { lock (pair.A.Gate) return pair.A.Stack.Tcp.TimeWaits.Count == 1; }, 5000), "A keeps TIME-WAIT");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(weak.IsAlive, Is.False, "the closed socket (and its wait queue) is unreachable");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CloseSocket(HostedPair pair, UserSocket listener)
    {
        var client = UserSocket.Tcp(pair.A);
        client.Connect(new Endpoint(HostedPair.AddressB, 8081));
        using var server = listener.Accept();
        client.Send("x"u8);
        var buffer = new byte[4];
        Assert.That(server.Receive(buffer), Is.EqualTo(1));
        client.Close();
        Assert.That(server.Receive(buffer), Is.Zero, "the FIN arrived");
        server.Close();
        return new WeakReference(client);
    }
}
