using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// RFC 1122 4.2.3.2 asks for an ACK for at least every second full-sized segment. Within one read
/// batch of the device (NetStack.BeginBatch/EndBatch) the stack does what Linux does with GRO: the
/// in-order segments of the batch get one ACK at its end, covering at most 64 KiB; anything that
/// must be acknowledged at once still is.
/// </summary>
public class ReceiveBatchAckTests
{
    private const int Mss = 1460;

    private static byte[] Segment(SeqNumber sequence, SeqNumber ack, TcpFlags flags, int payload = 0, TcpOptionsRepr options = default)
    {
        var repr = new TcpRepr(40000, 80, sequence, ack, flags, 65535, Options: options, PayloadLength: payload);
        var bytes = new byte[repr.Length];
        repr.Write(bytes, Frames.PeerIp, Frames.StackIp);
        return Frames.Ipv4(IpProtocol.Tcp, bytes);
    }

    /// <summary>An established connection to port 80 (no timestamps, so full-sized is 1460 bytes); the peer's next sequence number is 1001.</summary>
    private static (StackUnderTest, SeqNumber OurNext) Established(byte? windowScale = null)
    {
        var s = SynFloodAllocationTests.ListeningOn80(backlog: 4);
        s.Receive(Segment(new SeqNumber(1000), default, TcpFlags.Syn, options: new TcpOptionsRepr(MaximumSegmentSize: Mss, WindowScale: windowScale)));
        var iss = s.LastTcpSent(out _).Sequence;
        s.Receive(Segment(new SeqNumber(1001), iss + 1, TcpFlags.Ack));
        s.Sink.Frames.Clear();
        return (s, iss + 1);
    }

    private static List<SeqNumber> AcksSent(StackUnderTest s)
    {
        var acks = new List<SeqNumber>();
        foreach (var frame in s.Sink.Frames)
        {
            Assert.That(Ipv4Packet.TryRead(frame.AsSpan(14), out var ip, out _), Is.True);
            Assert.That(TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out _), Is.True);
            acks.Add(seg.Acknowledgment);
        }
        return acks;
    }

    [Test]
    public void Without_a_batch_every_second_full_sized_segment_is_acknowledged_at_once()
    {
        var (s, next) = Established();
        for (int i = 0; i < 6; i++) s.Receive(Segment(new SeqNumber((uint)(1001 + i * Mss)), next, TcpFlags.Ack, Mss));
        Assert.That(AcksSent(s), Is.EqualTo(new[] { 2, 4, 6 }.Select(n => new SeqNumber((uint)(1001 + n * Mss)))));
    }

    [Test]
    public void In_one_batch_the_in_order_segments_get_one_ack_at_its_end_as_linux_gro()
    {
        var (s, next) = Established();
        s.Stack.BeginBatch();
        for (int i = 0; i < 6; i++) s.Receive(Segment(new SeqNumber((uint)(1001 + i * Mss)), next, TcpFlags.Ack, Mss));
        Assert.That(s.Sink.Frames, Is.Empty, "owed until the batch ends");
        s.Stack.EndBatch(s.Now);
        Assert.That(AcksSent(s), Is.EqualTo(new[] { new SeqNumber((uint)(1001 + 6 * Mss)) }), "one ACK for all six");
        s.Sink.Frames.Clear();
        s.Advance(TimeSpan.FromMilliseconds(200));
        Assert.That(s.Sink.Frames, Is.Empty, "nothing left for the delayed-ACK timer");
    }

    [Test]
    public void In_a_batch_one_ack_covers_at_most_64_KiB()
    {
        var (s, next) = Established(windowScale: 7);
        for (int i = 0; i < 2; i++) s.Receive(Segment(new SeqNumber((uint)(1001 + i * Mss)), next, TcpFlags.Ack, Mss)); // our ACK opens the scaled window
        s.Sink.Frames.Clear();
        s.Stack.BeginBatch();
        for (int i = 2; i < 62; i++) s.Receive(Segment(new SeqNumber((uint)(1001 + i * Mss)), next, TcpFlags.Ack, Mss));
        s.Stack.EndBatch(s.Now);
        var acks = AcksSent(s);
        Assert.That(acks[^1], Is.EqualTo(new SeqNumber((uint)(1001 + 62 * Mss))), "all 60 taken and acknowledged");
        Assert.That(acks, Has.Count.EqualTo(2), "87,600 bytes: one ACK when 64 KiB were owed, one at the end");
        var previous = new SeqNumber((uint)(1001 + 2 * Mss));
        foreach (var a in acks)
        {
            Assert.That(a - previous, Is.LessThanOrEqualTo(TcpLayer.BatchAckLimit + Mss), "no more than 64 KiB (and the segment that crossed it) per ACK");
            previous = a;
        }
    }

    [Test]
    public void In_a_batch_an_out_of_order_segment_is_still_acknowledged_at_once_rfc5681_4_2()
    {
        var (s, next) = Established();
        s.Stack.BeginBatch();
        s.Receive(Segment(new SeqNumber(1001), next, TcpFlags.Ack, Mss));
        s.Receive(Segment(new SeqNumber((uint)(1001 + 2 * Mss)), next, TcpFlags.Ack, Mss)); // a hole before it
        Assert.That(AcksSent(s), Is.EqualTo(new[] { new SeqNumber((uint)(1001 + Mss)) }), "the duplicate ACK goes at once");
        s.Stack.EndBatch(s.Now);
    }

    [Test]
    public void In_a_batch_a_short_segment_and_a_fin_are_acknowledged_at_its_end_by_one_ack()
    {
        var (s, next) = Established();
        s.Stack.BeginBatch();
        s.Receive(Segment(new SeqNumber(1001), next, TcpFlags.Ack | TcpFlags.Psh, 10));
        s.Receive(Segment(new SeqNumber(1011), next, TcpFlags.Ack | TcpFlags.Fin));
        Assert.That(s.Sink.Frames, Is.Empty, "owed until the batch ends (an answer would carry it)");
        s.Stack.EndBatch(s.Now);
        Assert.That(AcksSent(s), Is.EqualTo(new[] { new SeqNumber(1012) }), "one ACK for the text and the FIN");
    }

    [Test]
    public void In_a_batch_a_fin_beyond_rcv_nxt_gets_a_duplicate_ack_at_once_rfc5681_4_2()
    {
        var (s, next) = Established();
        s.Stack.BeginBatch();
        s.Receive(Segment(new SeqNumber(1101), next, TcpFlags.Ack | TcpFlags.Fin)); // 100 bytes missing before it
        Assert.That(AcksSent(s), Is.EqualTo(new[] { new SeqNumber(1001) }), "out of order: acknowledged at once");
        s.Stack.EndBatch(s.Now);
    }

    [Test]
    public void In_a_batch_the_answer_written_after_a_read_carries_the_ack_and_the_window_and_nothing_goes_alone()
    {
        var (s, next) = Established(windowScale: 7); // the first read could open the window past the SYN,ACK's 65,535: a window update
        var c = s.Stack.Tcp.Table.All.Single(l => l.State == TcpState.Listen).TakeAccepted()!;
        s.Stack.BeginBatch();
        s.Receive(Segment(new SeqNumber(1001), next, TcpFlags.Ack | TcpFlags.Psh, 10)); // a request
        var buffer = new byte[100];
        Assert.That(c.Receive(buffer, peek: false, s.Now, out _), Is.EqualTo(10), "the application reads it (an inline continuation)");
        Assert.That(s.Sink.Frames, Is.Empty, "neither the ACK nor the window update went alone");
        Assert.That(c.Send(new byte[20], s.Now, out _), Is.EqualTo(20), "and answers");
        s.Stack.EndBatch(s.Now);
        Assert.That(AcksSent(s), Is.EqualTo(new[] { new SeqNumber(1011) }), "one segment: the answer, with the ACK");
        Assert.That(s.LastTcpSent(out _).Payload.Length, Is.EqualTo(20));
    }
}
