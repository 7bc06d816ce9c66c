using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// A listener's child in SYN-RECEIVED is a small record (Linux's request sock) that turns back into
/// its connection for whatever happens to it: the handshake and its rules (RFC 9293 3.10.7.4, RFC 6298
/// 5.7, Karn, RFC 7323) come out as they did when the child was a whole connection all along.
/// </summary>
public class SynReceivedRecordTests
{
    private static readonly TcpOptionsRepr PeerOptions = new(MaximumSegmentSize: 1400, WindowScale: 6, SackPermitted: true, Timestamps: (5000u, 0u));

    private static byte[] Segment(SeqNumber sequence, SeqNumber ack, TcpFlags flags, TcpOptionsRepr options = default, byte[]? payload = null)
    {
        var repr = new TcpRepr(40000, 80, sequence, ack, flags, 1000, Options: options, PayloadLength: payload?.Length ?? 0);
        var bytes = new byte[repr.Length];
        payload?.CopyTo(bytes, repr.HeaderLength);
        repr.Write(bytes, Frames.PeerIp, Frames.StackIp);
        return Frames.Ipv4(IpProtocol.Tcp, bytes);
    }

    /// <summary>A segment the stack sent, as values.</summary>
    private readonly record struct Sent(TcpFlags Flags, SeqNumber Sequence, SeqNumber Acknowledgment, ushort Window, TcpOptionsRepr Options);

    private static Sent LastSent(StackUnderTest s)
    {
        var seg = s.LastTcpSent(out _);
        return new(seg.Flags, seg.Sequence, seg.Acknowledgment, seg.Window, seg.Options);
    }

    private static (StackUnderTest, TcpConnection, Sent SynAck) SynReceived(byte[]? synText = null)
    {
        var s = SynFloodAllocationTests.ListeningOn80(backlog: 16);
        var listener = s.Stack.Tcp.Table.All.Single();
        s.Receive(Segment(new SeqNumber(1000), default, TcpFlags.Syn, PeerOptions, synText));
        return (s, listener, LastSent(s));
    }

    [Test]
    public void A_child_that_sent_its_syn_ack_is_a_record_counted_in_the_syn_queue()
    {
        var (s, listener, synAck) = SynReceived();
        Assert.That(synAck.Flags, Is.EqualTo(TcpFlags.Syn | TcpFlags.Ack));
        Assert.That(s.Stack.Tcp.Connections, Is.Empty, "no connection object");
        var record = s.Stack.Tcp.HalfOpenRecords.Single();
        Assert.That(record.State, Is.EqualTo(TcpState.SynReceived));
        Assert.That(record.Remote, Is.EqualTo(new Endpoint(Frames.PeerIp, 40000)));
        Assert.That(record.InitialSendSequence, Is.EqualTo(synAck.Sequence));
        Assert.That(record.ReceiveNext, Is.EqualTo(new SeqNumber(1001)));
        Assert.That(listener.HalfOpen, Is.EqualTo(1));
        Assert.That(s.Stack.Tcp.CheckInvariants(s.Now), Is.Null);
    }

    [Test]
    public void A_retransmitted_syn_gets_the_same_syn_ack_from_the_record_without_allocating()
    {
        var (s, _, first) = SynReceived();
        var syn = Segment(new SeqNumber(1000), default, TcpFlags.Syn, PeerOptions);
        s.Receive(syn); // warm-up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) s.Receive(syn);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var again = LastSent(s);
        Assert.That((again.Flags, again.Sequence, again.Acknowledgment, again.Window), Is.EqualTo((first.Flags, first.Sequence, first.Acknowledgment, first.Window)));
        var (a, b) = (first.Options, again.Options);
        Assert.That((b.MaximumSegmentSize, b.WindowScale, b.SackPermitted, b.Timestamps?.EchoReply), Is.EqualTo((a.MaximumSegmentSize, a.WindowScale, a.SackPermitted, a.Timestamps?.EchoReply)));
        Assert.That(s.Stack.Tcp.Connections, Is.Empty, "still a record");
        // The frames themselves are the test's (a new byte[] each); the stack's part allocates nothing.
        Assert.That(allocated, Is.LessThan(100 * 160), $"{allocated / 100} B per retransmitted SYN (the test's sink copies each frame: about 110 B)");
    }

    [Test]
    public void The_third_ack_makes_the_established_connection_with_what_the_syns_negotiated()
    {
        var (s, listener, synAck) = SynReceived(synText: "hi"u8.ToArray());
        s.Advance(TimeSpan.FromMilliseconds(30));
        s.Receive(Segment(new SeqNumber(1001 + 2), synAck.Sequence + 1, TcpFlags.Ack, new TcpOptionsRepr(Timestamps: (5030u, synAck.Options.Timestamps!.Value.Value))));
        var c = listener.TakeAccepted();
        Assert.That(c, Is.Not.Null);
        Assert.That(c!.State, Is.EqualTo(TcpState.Established));
        Assert.That((c.WindowScalingEnabled, c.SackEnabled, c.TimestampsEnabled), Is.EqualTo((true, true, true)));
        Assert.That(c.SendMss, Is.EqualTo(1400 - 12), "the peer's MSS less the timestamp option");
        Assert.That(c.Available, Is.EqualTo(2), "the text that came on the SYN is delivered once ESTABLISHED (RFC 9293 3.10.7.2)");
        Assert.That(c.SmoothedRtt, Is.EqualTo(TimeSpan.FromMilliseconds(30)), "the SYN,ACK was timed (RFC 7323 4.1: from the echoed TSval)");
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Is.Empty);
        Assert.That(listener.HalfOpen, Is.Zero);
        Assert.That(s.Stack.Tcp.CheckInvariants(s.Now), Is.Null);
    }

    [Test]
    public void The_syn_ack_timer_resends_from_the_record_and_backs_off_as_rfc6298_5_5_says()
    {
        var (s, listener, synAck) = SynReceived();
        s.Sink.Frames.Clear();
        s.Advance(TimeSpan.FromMilliseconds(1001));
        Assert.That(s.Sink.Frames, Has.Count.EqualTo(1), "one SYN,ACK after the initial RTO of 1 s");
        Assert.That(s.LastTcpSent(out _).Sequence, Is.EqualTo(synAck.Sequence));
        Assert.That(s.Stack.Tcp.Connections, Is.Empty, "a record again");
        var record = s.Stack.Tcp.HalfOpenRecords.Single();
        Assert.That(record.Deadline, Is.EqualTo(s.Now - TimeSpan.FromMilliseconds(1) + TimeSpan.FromSeconds(2)), "the RTO doubled");
        s.Advance(TimeSpan.FromSeconds(2));
        Assert.That(s.Sink.Frames, Has.Count.EqualTo(2));

        // The third ACK after a resent SYN,ACK: no RTT sample (Karn) and the RTO falls back to 3 s (RFC 6298 5.7).
        s.Receive(Segment(new SeqNumber(1001), synAck.Sequence + 1, TcpFlags.Ack));
        var c = listener.TakeAccepted()!;
        Assert.That(c.SmoothedRtt, Is.Null);
        Assert.That(c.Rto, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(c.Info.TotalRetransmits, Is.EqualTo(2));
    }

    [Test]
    public void A_record_whose_syn_acks_ran_out_is_dropped_silently_as_linux_drops_a_request_sock()
    {
        var (s, listener, _) = SynReceived();
        s.Sink.Frames.Clear();
        int synAcks = 0;
        for (int i = 0; i < 30; i++)
        {
            s.Advance(TimeSpan.FromSeconds(10));
            synAcks += s.Sink.Frames.Count(f => f[12] == 0x08 && f[13] == 0x00); // IPv4: the TCP segments
            s.LearnPeer(); // the peer answers ARP, so no SYN,ACK waits for a neighbour
        }
        Assert.That(synAcks, Is.EqualTo(s.Stack.Tcp.Options.MaxSynRetransmissions), "every SYN,ACK resent, then no RST");
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Is.Empty);
        Assert.That(s.Stack.Tcp.Connections, Is.Empty);
        Assert.That(listener.HalfOpen, Is.Zero);
        Assert.That(s.Stack.Counters[Counter.TcpTimeouts], Is.EqualTo(1));
    }

    [Test]
    public void A_rst_at_rcv_nxt_ends_the_record_and_the_listener_lives_on()
    {
        var (s, listener, _) = SynReceived();
        s.Receive(Segment(new SeqNumber(1001), default, TcpFlags.Rst));
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Is.Empty);
        Assert.That(s.Stack.Tcp.Connections, Is.Empty);
        Assert.That(listener.State, Is.EqualTo(TcpState.Listen));
        Assert.That(listener.HalfOpen, Is.Zero);
    }

    [Test]
    public void A_bad_ack_gets_a_rst_and_the_record_stays()
    {
        var (s, listener, synAck) = SynReceived();
        s.Receive(Segment(new SeqNumber(1001), synAck.Sequence + 5, TcpFlags.Ack));
        var rst = LastSent(s);
        Assert.That(rst.Flags, Is.EqualTo(TcpFlags.Rst), "RFC 9293 3.10.7.4: <SEQ=SEG.ACK><CTL=RST>");
        Assert.That(rst.Sequence, Is.EqualTo(synAck.Sequence + 5));
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Has.Count.EqualTo(1), "a record again");
        Assert.That(listener.HalfOpen, Is.EqualTo(1));
        Assert.That(s.Stack.Tcp.CheckInvariants(s.Now), Is.Null);
    }

    [Test]
    public void Closing_the_listener_ends_its_records_without_a_segment()
    {
        var (s, listener, _) = SynReceived();
        s.Sink.Frames.Clear();
        s.Stack.Tcp.Close(listener, s.Now);
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Is.Empty);
        Assert.That(s.Stack.Tcp.Connections, Is.Empty);
        Assert.That(s.Sink.Frames, Is.Empty, "half-open children die silently with their listener, as in Linux");
        s.Advance(TimeSpan.FromMinutes(2));
        Assert.That(s.Sink.Frames, Is.Empty, "and no SYN,ACK timer outlives them");
    }

    [Test]
    public void A_listener_resized_after_the_syn_does_not_change_what_the_syn_ack_announced_rfc7323_2_2()
    {
        var s = SynFloodAllocationTests.ListeningOn80(backlog: 16);
        var listener = s.Stack.Tcp.Table.All.Single();
        Assert.That(listener.TryResizeBuffers(null, 65536), Is.True);
        s.Receive(Segment(new SeqNumber(1000), default, TcpFlags.Syn, PeerOptions));
        var first = LastSent(s);
        Assert.That(listener.TryResizeBuffers(null, 4 << 20), Is.True, "SO_RCVBUF on the listener while the child is half-open");

        s.Advance(TimeSpan.FromMilliseconds(1001)); // the record's timer: its connection resends the SYN,ACK
        var again = LastSent(s);
        Assert.That(again.Flags, Is.EqualTo(TcpFlags.Syn | TcpFlags.Ack));
        Assert.That((again.Options.WindowScale, again.Window), Is.EqualTo((first.Options.WindowScale, first.Window)),
            "RFC 7323 2.2: the shift was sent in the SYN,ACK and is fixed for the connection");
        s.Receive(Segment(new SeqNumber(1000), default, TcpFlags.Syn, PeerOptions)); // and the record's own answer to a retransmitted SYN
        Assert.That((LastSent(s).Options.WindowScale, LastSent(s).Window), Is.EqualTo((first.Options.WindowScale, first.Window)));

        s.Receive(Segment(new SeqNumber(1001), first.Sequence + 1, TcpFlags.Ack, new TcpOptionsRepr(Timestamps: (6000u, 0u))));
        var c = listener.TakeAccepted()!;
        Assert.That(c.ReceiveBufferCapacity, Is.EqualTo(65536), "the child keeps what it took at the SYN");
    }
}
