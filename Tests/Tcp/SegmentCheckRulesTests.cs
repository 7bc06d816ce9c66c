using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// RFC 9293 rules about addresses and about segments the window does not admit, on one stack
/// driven frame by frame: what a packetdrill script (one peer address, no ICMP source quench) cannot say.
/// </summary>
public class SegmentCheckRulesTests
{
    private static byte[] Segment(SeqNumber sequence, SeqNumber ack, TcpFlags flags, ReadOnlySpan<byte> payload = default, ushort urgent = 0, Ipv4Address? source = null)
    {
        var repr = new TcpRepr(40000, 80, sequence, ack, flags, 64240, urgent, default, payload.Length);
        var bytes = new byte[repr.Length];
        payload.CopyTo(bytes.AsSpan(repr.HeaderLength));
        repr.Write(bytes, source ?? Frames.PeerIp, Frames.StackIp);
        return Frames.Ipv4(IpProtocol.Tcp, bytes, source);
    }

    private static (StackUnderTest S, TcpConnection Listener) Listening(TcpOptions? tcp = null)
    {
        var s = new StackUnderTest(Frames.Options() with { Tcp = tcp ?? new TcpOptions() });
        s.LearnPeer();
        var listener = s.Stack.Tcp.Open();
        s.Stack.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 80));
        s.Stack.Tcp.Listen(listener, 4, s.Now);
        return (s, listener);
    }

    /// <summary>A passive open from 10.0.0.1:40000 (ISN 1000, no options); the peer's next sequence is 1001.</summary>
    private static (StackUnderTest S, TcpConnection Connection, SeqNumber OurNext, byte[] SynAckFrame) Established(TcpOptions? tcp = null)
    {
        var (s, listener) = Listening(tcp);
        s.Receive(Segment(new SeqNumber(1000), default, TcpFlags.Syn));
        var synAck = s.LastTcpSent(out var synAckFrame);
        var ourNext = synAck.Sequence + 1;
        s.Receive(Segment(new SeqNumber(1001), ourNext, TcpFlags.Ack));
        var c = listener.TakeAccepted();
        Assert.That(c?.State, Is.EqualTo(TcpState.Established));
        s.Sink.Frames.Clear();
        return (s, c!, ourNext, synAckFrame);
    }

    [Rfc(9293, "MUST-46")]
    [TestCase("255.255.255.255")]
    [TestCase("10.0.0.255")]
    [TestCase("224.0.0.1")]
    [TestCase("0.0.0.0")]
    public void An_open_to_a_broadcast_multicast_or_unspecified_address_is_refused(string address)
    {
        var s = new StackUnderTest();
        var c = s.Stack.Tcp.Open();
        Assert.That(s.Stack.Tcp.Connect(c, new Endpoint(Ipv4Address.Parse(address), 80), s.Now), Is.EqualTo(Errno.EINVAL));
        Assert.That(s.Sink.Frames, Is.Empty);
    }

    [Rfc(9293, "MUST-63")]
    [TestCase("0.0.0.0")]
    [TestCase("255.255.255.255")]
    [TestCase("10.0.0.255")]
    [TestCase("224.0.0.9")]
    [TestCase("127.0.0.1")]
    [TestCase("10.0.0.2")]
    public void A_syn_from_an_impossible_source_is_dropped_unanswered(string address)
    {
        var (s, _) = Listening();
        s.Receive(Segment(new SeqNumber(1000), default, TcpFlags.Syn, source: Ipv4Address.Parse(address)));
        Assert.That(s.Sink.Frames, Is.Empty, "no SYN,ACK and no RST");
        Assert.That(s.Stack.Tcp.Connections, Is.Empty, "no half-open connection");
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Is.Empty, "no half-open record");
        Assert.That(s.Stack.Counters[DropReason.Ipv4BadSource], Is.EqualTo(1));
    }

    [Test]
    [Rfc(9293, "MUST-55")]
    public void A_source_quench_about_a_connection_is_silently_discarded()
    {
        var (s, c, _, synAck) = Established();
        var quoted = synAck.AsSpan(14, 20 + 8); // our IPv4 header and the first 8 bytes of our segment
        s.Receive(Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.SourceQuench, 0, 0, quoted)));
        Assert.That(s.Stack.Counters[Counter.IcmpOtherReceived], Is.EqualTo(1), "the message arrived and was counted");
        Assert.That(s.Sink.Frames, Is.Empty);
        Assert.That((c.State, c.PendingError), Is.EqualTo((TcpState.Established, Errno.Ok)));
    }

    private static (StackUnderTest S, TcpConnection Connection, SeqNumber OurNext) ZeroWindow()
    {
        var (s, c, ourNext, _) = Established(new TcpOptions { ReceiveBufferSize = 1000 });
        s.Receive(Segment(new SeqNumber(1001), ourNext, TcpFlags.Ack | TcpFlags.Psh, new byte[1000]));
        var ack = s.LastTcpSent(out _);
        Assert.That((ack.Acknowledgment, ack.Window), Is.EqualTo((new SeqNumber(2001), (ushort)0)), "the unread 1000 bytes close the window");
        s.Sink.Frames.Clear();
        return (s, c, ourNext);
    }

    [Test]
    [Rfc(9293, "MUST-66")]
    public void A_rst_at_rcv_nxt_resets_the_connection_while_the_window_is_zero()
    {
        var (s, c, ourNext) = ZeroWindow();
        s.Receive(Segment(new SeqNumber(2001), ourNext, TcpFlags.Rst | TcpFlags.Ack));
        Assert.That(c.State, Is.EqualTo(TcpState.Closed));
        Assert.That(c.TakeError(), Is.EqualTo(Errno.ECONNRESET));
    }

    [Test]
    [Rfc(9293, "MUST-66")]
    public void An_urgent_pointer_is_taken_while_the_window_is_zero()
    {
        var (s, c, ourNext) = ZeroWindow();
        Assert.That(c.ReceiveUrgent(new byte[1], peek: false, out _), Is.EqualTo(Errno.EINVAL), "no urgent data announced yet");
        s.Receive(Segment(new SeqNumber(2001), ourNext, TcpFlags.Ack | TcpFlags.Urg, urgent: 1));
        Assert.That(c.ReceiveUrgent(new byte[1], peek: false, out _), Is.EqualTo(Errno.EAGAIN), "urgent data announced, its byte not yet here (Linux tcp_recv_urg)");
    }
}
