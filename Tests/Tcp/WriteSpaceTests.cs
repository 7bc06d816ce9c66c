using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// When a full send buffer counts as writable again (poll's POLLOUT, a blocked writer woken): as Linux's
/// sk_stream_is_writeable, once the free room is at least half of what is still queued, not for every
/// few bytes an ACK frees (a bulk writer would wake once per ACK).
/// </summary>
public class WriteSpaceTests
{
    private static byte[] Segment(SeqNumber sequence, SeqNumber ack, TcpFlags flags, TcpOptionsRepr options = default)
    {
        var repr = new TcpRepr(40000, 80, sequence, ack, flags, 65535, Options: options);
        var bytes = new byte[repr.Length];
        repr.Write(bytes, Frames.PeerIp, Frames.StackIp);
        return Frames.Ipv4(IpProtocol.Tcp, bytes);
    }

    [Test]
    public void A_full_send_buffer_is_writable_again_once_the_room_is_half_of_what_is_queued_as_linux()
    {
        var s = SynFloodAllocationTests.ListeningOn80(backlog: 4);
        var listener = s.Stack.Tcp.Table.All.Single();
        Assert.That(listener.TryResizeBuffers(16384, null), Is.True);
        s.Receive(Segment(new SeqNumber(1000), default, TcpFlags.Syn, new TcpOptionsRepr(MaximumSegmentSize: 1460)));
        var iss = s.LastTcpSent(out _).Sequence;
        s.Receive(Segment(new SeqNumber(1001), iss + 1, TcpFlags.Ack));
        var c = listener.TakeAccepted()!;
        int signals = 0;
        c.Signal = () => signals++;

        Assert.That(c.Send(new byte[16384], s.Now, out _), Is.EqualTo(16384));
        Assert.That(c.IsWritable, Is.False, "full");

        s.Receive(Segment(new SeqNumber(1001), iss + 1 + 1460, TcpFlags.Ack)); // 1,460 free, 14,924 queued
        Assert.That(c.IsWritable, Is.False, "1,460 bytes of room are less than half of 14,924 queued");
        Assert.That(signals, Is.Zero, "no wake-up for it");

        s.Receive(Segment(new SeqNumber(1001), iss + 1 + 6 * 1460, TcpFlags.Ack)); // 8,760 free, 7,624 queued
        Assert.That(c.IsWritable, Is.True);
        Assert.That(signals, Is.EqualTo(1), "one wake-up, when the room came");
    }
}
