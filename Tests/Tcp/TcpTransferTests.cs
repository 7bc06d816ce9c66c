using System.Security.Cryptography;
using UserStack.Diagnostics;
using UserStack.Drivers.Virtual;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>Two stacks talk TCP over the virtual wire; the apps are pumped between wire events.</summary>
public class TcpTransferTests
{
    private static readonly Ipv4Address AddressB = WiredPair.AddressB;

    private static WiredPair Build(int seed, WireFaults faults) => new(seed, faults);

    private static TcpConnection Listen(WiredPair w, ushort port, int backlog = 8)
    {
        var listener = w.B.Tcp.Open();
        Assert.That(w.B.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, port)), Is.EqualTo(Errno.Ok));
        Assert.That(w.B.Tcp.Listen(listener, backlog, w.Wire.Now), Is.EqualTo(Errno.Ok));
        return listener;
    }

    private static TcpConnection Dial(WiredPair w, ushort port)
    {
        var client = w.A.Tcp.Open();
        Assert.That(w.A.Tcp.Connect(client, new Endpoint(AddressB, port), w.Wire.Now), Is.EqualTo(Errno.Ok));
        return client;
    }

    /// <summary>A sends <paramref name="data"/> to B and closes; B reads to the end and closes. Returns what B read.</summary>
    private static (byte[] Received, TcpConnection Client, TcpConnection Server) Transfer(WiredPair w, byte[] data, TimeSpan limit)
    {
        var listener = Listen(w, 80);
        var client = Dial(w, 80);

        TcpConnection? server = null;
        var received = new MemoryStream();
        int sent = 0;
        bool clientClosed = false, serverClosed = false;
        var buffer = new byte[65536];
        bool done = w.Wire.RunUntil(() =>
        {
            var now = w.Wire.Now;
            server ??= listener.TakeAccepted();
            if (client.State.IsSynchronized() && sent < data.Length)
                sent += client.Send(data.AsSpan(sent), now, out _);
            if (sent == data.Length && !clientClosed) { w.A.Tcp.Close(client, now); clientClosed = true; }
            if (server is not null)
            {
                while (true)
                {
                    int n = server.Receive(buffer, false, now, out var e);
                    if (n > 0) { received.Write(buffer, 0, n); continue; }
                    if (e == Errno.Ok && server.FinReceived && !serverClosed) { w.B.Tcp.Close(server, now); serverClosed = true; }
                    break;
                }
            }
            return serverClosed && client.State is TcpState.TimeWait or TcpState.Closed && server!.State == TcpState.Closed;
        }, limit);
        Assert.That(done, Is.True, $"transfer did not finish: sent {sent}, received {received.Length}, client {client.State}, server {server?.State}; wire {w.Wire.Statistics}\nA:\n{w.A.Counters}\nB:\n{w.B.Counters}");
        return (received.ToArray(), client, server!);
    }

    [Test]
    public void A_clean_handshake_transfer_and_close_walk_the_rfc_states()
    {
        var w = Build(1, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var data = RandomNumberGenerator.GetBytes(100_000);
        var (received, client, server) = Transfer(w, data, TimeSpan.FromSeconds(30));
        Assert.That(received, Is.EqualTo(data));
        Assert.That(client.State, Is.EqualTo(TcpState.TimeWait), "the side that closed first waits 2 MSL");
        Assert.That(server.State, Is.EqualTo(TcpState.Closed));
        Assert.That(w.A.Counters[Counter.TcpRetransmissions] + w.B.Counters[Counter.TcpRetransmissions], Is.Zero);
        Assert.That(w.A.Tcp.TimeWaits.Count, Is.EqualTo(1), "the closed socket's TIME-WAIT is a record (TimeWaitRecord)");
        w.Wire.RunFor(TimeSpan.FromSeconds(61));
        Assert.That(w.A.Tcp.TimeWaits.Count, Is.Zero, "TIME-WAIT ends after 2 MSL");
        Assert.That(w.A.Tcp.Connections, Is.Empty);
    }

    [Test]
    public void Over_a_lossy_wire_every_byte_arrives_in_order([Range(1, 20)] int seed)
    {
        var faults = new WireFaults { Drop = 0.05, Duplicate = 0.05, Reorder = 0.1, Corrupt = 0.05, Delay = TimeSpan.FromMilliseconds(2), Jitter = TimeSpan.FromMilliseconds(2) };
        var w = Build(seed, WireFaults.None);
        // ARP first on a clean wire (it has no checksum; see the echo simulation).
        w.A.Ipv4.PayloadBuffer[0] = 0;
        w.A.Ipv4.Send(WiredPair.AddressA, AddressB, (IpProtocol)253, 1, w.Wire.Now);
        w.Wire.RunFor(TimeSpan.FromMilliseconds(50));
        w.Wire.Faults = faults;
        var data = RandomNumberGenerator.GetBytes(300_000);
        var (received, _, _) = Transfer(w, data, TimeSpan.FromMinutes(10));
        Assert.That(SHA256.HashData(received), Is.EqualTo(SHA256.HashData(data)));
    }

    [Rfc(9293, "MUST-12")]
    [Test]
    public void Connecting_to_a_closed_port_is_refused_by_rst()
    {
        var w = Build(3, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var client = Dial(w, 81);
        w.Wire.RunUntil(() => client.State == TcpState.Closed, TimeSpan.FromSeconds(5));
        Assert.That(client.State, Is.EqualTo(TcpState.Closed));
        Assert.That(client.TakeError(), Is.EqualTo(Errno.ECONNREFUSED));
        Assert.That(w.B.Counters[Counter.TcpResetsSent], Is.EqualTo(1));
    }

    [Rfc(9293, "MUST-12"), Rfc(9293, "MUST-20")]
    [Test]
    public void A_dead_peer_ends_in_timed_out_not_a_hang()
    {
        var w = Build(4, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var listener = Listen(w, 80);
        var client = Dial(w, 80);
        w.Wire.RunUntil(() => client.State == TcpState.Established, TimeSpan.FromSeconds(5));
        w.Wire.Faults = new WireFaults { Drop = 1.0 };
        client.Send(new byte[1000], w.Wire.Now, out _);
        Assert.That(w.Wire.RunUntil(() => client.State == TcpState.Closed, TimeSpan.FromHours(1)), Is.True);
        Assert.That(client.TakeError(), Is.EqualTo(Errno.ETIMEDOUT));
        Assert.That(w.A.Counters[Counter.TcpRetransmissions], Is.EqualTo(w.A.Options.Tcp.MaxRetransmissions));
    }

    [Test]
    public void A_full_listen_backlog_drops_further_syns_until_accept_makes_room()
    {
        var w = Build(7, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var listener = Listen(w, 80, backlog: 1);
        var first = Dial(w, 80);
        w.Wire.RunUntil(() => first.State == TcpState.Established, TimeSpan.FromSeconds(5));
        var second = Dial(w, 80);
        w.Wire.RunFor(TimeSpan.FromMilliseconds(500));
        Assert.That(second.State, Is.EqualTo(TcpState.SynSent), "the SYN found the queue full and was dropped");
        Assert.That(w.B.Counters[DropReason.TcpListenOverflow], Is.GreaterThanOrEqualTo(1));

        Assert.That(listener.TakeAccepted(), Is.Not.Null);
        w.Wire.RunUntil(() => second.State == TcpState.Established, TimeSpan.FromSeconds(10));
        Assert.That(second.State, Is.EqualTo(TcpState.Established), "the retransmitted SYN got in once accept made room");
    }

    [Rfc(9293, "MUST-10")]
    [Test]
    public void Simultaneous_open_reaches_established_on_both_sides()
    {
        var w = Build(5, new WireFaults { Delay = TimeSpan.FromMilliseconds(5) });
        var a = w.A.Tcp.Open();
        var b = w.B.Tcp.Open();
        w.A.Tcp.Bind(a, new Endpoint(Ipv4Address.Any, 5000));
        w.B.Tcp.Bind(b, new Endpoint(Ipv4Address.Any, 6000));
        // Resolve ARP both ways first so that the two SYNs cross on the wire.
        w.A.Ipv4.Send(WiredPair.AddressA, AddressB, (IpProtocol)253, 0, w.Wire.Now);
        w.Wire.RunFor(TimeSpan.FromMilliseconds(50));
        w.A.Tcp.Connect(a, new Endpoint(AddressB, 6000), w.Wire.Now);
        w.B.Tcp.Connect(b, new Endpoint(WiredPair.AddressA, 5000), w.Wire.Now);
        w.Wire.RunUntil(() => a.State == TcpState.Established && b.State == TcpState.Established, TimeSpan.FromSeconds(10));
        Assert.That((a.State, b.State), Is.EqualTo((TcpState.Established, TcpState.Established)));
    }

    [Test]
    public void Simultaneous_close_passes_through_closing_to_time_wait()
    {
        var w = Build(6, new WireFaults { Delay = TimeSpan.FromMilliseconds(5) });
        var listener = Listen(w, 80);
        var client = Dial(w, 80);
        TcpConnection? server = null;
        w.Wire.RunUntil(() => (server ??= listener.TakeAccepted()) is not null && client.State == TcpState.Established, TimeSpan.FromSeconds(5));
        var seen = new List<TcpState>();
        w.A.Tcp.Close(client, w.Wire.Now);
        w.B.Tcp.Close(server!, w.Wire.Now);
        w.Wire.RunUntil(() => { if (seen.LastOrDefault() != client.State) seen.Add(client.State); return client.State == TcpState.TimeWait && server!.State == TcpState.TimeWait; }, TimeSpan.FromSeconds(10));
        Assert.That(seen, Does.Contain(TcpState.Closing));
        Assert.That(server!.State, Is.EqualTo(TcpState.TimeWait));
    }
}
