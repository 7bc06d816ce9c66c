using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// RFC 4987 3.6 SYN cookies with Linux's policy (tcp_syncookies = 1): only when the SYN queue is
/// full; the third ACK of a valid cookie makes the connection straight into the accept queue.
/// The scripts rfc4987-*.pkt show the segments; these tests use several 4-tuples, which a script cannot.
/// </summary>
public class SynCookieTests
{
    private static byte[] Segment(ushort sourcePort, SeqNumber sequence, SeqNumber ack, TcpFlags flags, TcpOptionsRepr options = default, Ipv4Address? source = null)
    {
        var repr = new TcpRepr(sourcePort, 80, sequence, ack, flags, 64240, Options: options);
        var bytes = new byte[repr.Length];
        repr.Write(bytes, source ?? Frames.PeerIp, Frames.StackIp);
        return Frames.Ipv4(IpProtocol.Tcp, bytes, source);
    }

    private static (StackUnderTest, TcpConnection) Listening(int backlog)
    {
        var s = new StackUnderTest(Frames.Options() with { Secret = [1, 2, 3] });
        s.LearnPeer();
        var listener = s.Stack.Tcp.Open();
        s.Stack.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 80));
        s.Stack.Tcp.Listen(listener, backlog, s.Now);
        return (s, listener);
    }

    [Test]
    public void Cookies_are_sent_only_once_the_syn_queue_is_full()
    {
        var (s, listener) = Listening(backlog: 2);
        s.Receive(Segment(40000, new SeqNumber(1000), default, TcpFlags.Syn));
        s.Receive(Segment(40001, new SeqNumber(2000), default, TcpFlags.Syn));
        Assert.That(s.Stack.Counters[Counter.TcpSynCookiesSent], Is.Zero, "room in the SYN queue: ordinary children");
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Has.Count.EqualTo(2));

        s.Receive(Segment(40002, new SeqNumber(3000), default, TcpFlags.Syn, new TcpOptionsRepr(MaximumSegmentSize: 1450)));
        var synAck = s.LastTcpSent(out _);
        Assert.That(synAck.Flags, Is.EqualTo(TcpFlags.Syn | TcpFlags.Ack));
        Assert.That(synAck.Acknowledgment, Is.EqualTo(new SeqNumber(3001)));
        Assert.That(s.Stack.Counters[Counter.TcpSynCookiesSent], Is.EqualTo(1));
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Has.Count.EqualTo(2), "a cookie keeps no state");
        Assert.That(s.Stack.Tcp.Connections, Is.Empty);
        Assert.That(s.Stack.Counters[DropReason.TcpListenOverflow], Is.Zero);
    }

    [Test]
    public void A_valid_cookie_ack_is_accepted_with_the_cookie_mss_and_its_data()
    {
        var (s, listener) = Listening(backlog: 1);
        s.Receive(Segment(40000, new SeqNumber(1000), default, TcpFlags.Syn)); // fills the queue
        s.Receive(Segment(40001, new SeqNumber(5000), default, TcpFlags.Syn, new TcpOptionsRepr(MaximumSegmentSize: 1450)));
        var cookie = s.LastTcpSent(out _).Sequence;
        var ack = new TcpRepr(40001, 80, new SeqNumber(5001), cookie + 1, TcpFlags.Ack | TcpFlags.Psh, 64240, PayloadLength: 5);
        var bytes = new byte[ack.Length];
        "hello"u8.CopyTo(bytes.AsSpan(ack.HeaderLength));
        ack.Write(bytes, Frames.PeerIp, Frames.StackIp);
        s.Receive(Frames.Ipv4(IpProtocol.Tcp, bytes));

        var accepted = listener.TakeAccepted();
        Assert.That(accepted, Is.Not.Null);
        Assert.That(accepted!.State, Is.EqualTo(TcpState.Established));
        Assert.That(accepted.Remote, Is.EqualTo(new Endpoint(Frames.PeerIp, 40001)));
        Assert.That(accepted.SendMss, Is.EqualTo(1440), "the largest table MSS not above 1450");
        Assert.That(accepted.WindowScalingEnabled || accepted.SackEnabled || accepted.TimestampsEnabled, Is.False, "no timestamps: no room for options");
        Assert.That(accepted.InitialSendSequence, Is.EqualTo(cookie));
        Assert.That(accepted.Available, Is.EqualTo(5), "the data on the third ACK is delivered");
        Assert.That(s.Stack.Counters[Counter.TcpSynCookiesAccepted], Is.EqualTo(1));
        Assert.That(s.Stack.Tcp.CheckInvariants(s.Now), Is.Null);
    }

    [Test]
    public void A_cookie_for_another_four_tuple_or_peer_isn_is_refused_with_a_reset()
    {
        var (s, listener) = Listening(backlog: 1);
        s.Receive(Segment(40000, new SeqNumber(1000), default, TcpFlags.Syn));
        s.Receive(Segment(40001, new SeqNumber(5000), default, TcpFlags.Syn));
        var cookie = s.LastTcpSent(out _).Sequence;
        s.Receive(Segment(40002, new SeqNumber(5001), cookie + 1, TcpFlags.Ack)); // another port
        Assert.That(s.LastTcpSent(out _).Flags, Is.EqualTo(TcpFlags.Rst));
        s.Receive(Segment(40001, new SeqNumber(6001), cookie + 1, TcpFlags.Ack)); // another peer ISN
        Assert.That(s.LastTcpSent(out _).Flags, Is.EqualTo(TcpFlags.Rst));
        Assert.That(s.Stack.Counters[DropReason.TcpSynCookieInvalid], Is.EqualTo(2));
        Assert.That(listener.TakeAccepted(), Is.Null);
    }

    [Test]
    public void A_cookie_lives_for_the_current_and_the_previous_tick_of_the_60_second_clock()
    {
        var cookies = new SynCookies([9, 9, 9]);
        var local = new Endpoint(Frames.StackIp, 80);
        var remote = new Endpoint(Frames.PeerIp, 40000);
        var made = Instant.FromMilliseconds(59_000); // tick 0
        var cookie = cookies.Make(local, remote, new SeqNumber(77), SynCookies.MssIndex(1460), made);
        Assert.That(cookies.TryCheck(local, remote, new SeqNumber(77), cookie, made, out int mss), Is.True);
        Assert.That(mss, Is.EqualTo(1460));
        Assert.That(cookies.TryCheck(local, remote, new SeqNumber(77), cookie, Instant.FromMilliseconds(119_000), out _), Is.True, "tick 1");
        Assert.That(cookies.TryCheck(local, remote, new SeqNumber(77), cookie, Instant.FromMilliseconds(120_000), out _), Is.False, "tick 2: stale");
        Assert.That(cookies.TryCheck(local, remote, new SeqNumber(77), cookie + 1, made, out _), Is.False, "one off");
    }

    [TestCase(100, 536)]
    [TestCase(536, 536)]
    [TestCase(1299, 536)]
    [TestCase(1300, 1300)]
    [TestCase(1459, 1440)]
    [TestCase(9000, 1460)]
    public void The_cookie_mss_is_the_largest_table_value_not_above_the_peers(int peer, int expected) =>
        Assert.That(SynCookies.MssTable[SynCookies.MssIndex(peer)], Is.EqualTo(expected));

    [Test]
    public void A_flood_from_random_sources_keeps_the_syn_queue_at_the_backlog_and_allocates_little_per_syn()
    {
        var (s, listener) = Listening(backlog: 128);
        var random = new Random(5);
        byte[] Syn(int i) => Segment((ushort)random.Next(1024, 65536), new SeqNumber((uint)random.Next()), default, TcpFlags.Syn,
            new TcpOptionsRepr(MaximumSegmentSize: 1460, WindowScale: 7, SackPermitted: true, Timestamps: ((uint)i, 0u)),
            new Ipv4Address((uint)random.Next(0x0A000003, 0x0A0000FE))); // on-link, so SYN,ACKs go out (after ARP)
        var frames = Enumerable.Range(0, 20_000).Select(Syn).ToArray();
        for (int i = 0; i < frames.Length; i++) s.Receive(frames[i]); // the queue fills, then cookies (and the JIT warms up)
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 1000; i < frames.Length; i++) s.Receive(frames[i]);
        double microseconds = clock.Elapsed.TotalMicroseconds / (frames.Length - 1000);
        long perSyn = (GC.GetAllocatedBytesForCurrentThread() - before) / (frames.Length - 1000);
        TestContext.Out.WriteLine($"{perSyn} bytes allocated and {microseconds:0.00} µs per flooding SYN; half-open {listener.HalfOpen}");
        Assert.That(listener.HalfOpen, Is.EqualTo(128));
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Has.Count.EqualTo(128));
        Assert.That(s.Stack.Counters[Counter.TcpSynCookiesSent], Is.GreaterThanOrEqualTo(19_000));
        Assert.That(perSyn, Is.LessThan(512), "a cookie SYN,ACK costs no per-connection record");
    }
}
