using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// RFC 7323 2.4 and RFC 9293 3.8.6.2.2: the right edge of the window we advertise never moves
/// left, even when scaling rounds the free space down, and moves right only in useful steps.
/// </summary>
public class ReceiveWindowEdgeTests
{
    private static Receiver NewReceiver(int buffer, int shift)
    {
        var stack = new NetStack(Frames.Options(), new NullSink());
        var receiver = new Receiver(stack.Tcp, new TcpOptions { ReceiveBufferSize = buffer }) { WindowShift = shift };
        receiver.Next = new SeqNumber(1000);
        receiver.AdvertisedEdge = receiver.Next;
        return receiver;
    }

    [Test]
    public void The_right_edge_never_moves_left_as_data_arrives_in_odd_sizes()
    {
        var r = NewReceiver(buffer: 100_000, shift: 7);
        var random = new Random(5);
        var now = Instant.FromMilliseconds(1);
        var edge = r.Next + r.WindowField(syn: false, mss: 1448) * 128;
        for (int i = 0; i < 2000; i++)
        {
            int length = Math.Min(random.Next(1, 1449), r.Window);
            if (length > 0) r.Accept(r.Next, new byte[length], 1448, out _, now);
            if (random.Next(3) == 0) r.Buffer.Discard(random.Next(0, r.Buffer.Count + 1)); // the application reads
            ushort field = r.WindowField(syn: false, mss: 1448);
            var advertised = r.Next + field * 128;
            Assert.That(advertised, Is.GreaterThanOrEqualTo(edge), $"step {i}: the edge moved left");
            Assert.That(r.AdvertisedEdge, Is.GreaterThanOrEqualTo(advertised), "the remembered edge covers what was sent");
            edge = advertised;
        }
    }

    [Test]
    public void The_window_field_is_the_free_space_shifted_and_a_syn_is_never_scaled()
    {
        var r = NewReceiver(buffer: 262_144, shift: 3);
        Assert.That(r.WindowField(syn: true, mss: 1460), Is.EqualTo(65535), "RFC 7323 2.2: a SYN's window is not scaled");
        Assert.That(r.WindowField(syn: false, mss: 1460), Is.EqualTo(262_144 >> 3));
        Assert.That(Receiver.ShiftFor(262_144), Is.EqualTo(3));
        Assert.That(Receiver.ShiftFor(65_535), Is.EqualTo(0));
        Assert.That(Receiver.ShiftFor(int.MaxValue), Is.EqualTo(14), "RFC 7323 2.3: at most 14");
    }

    [Rfc(9293, "MUST-39")]
    [Test]
    public void Small_reads_do_not_move_the_edge_until_a_segment_or_half_the_buffer_fits()
    {
        // Receiver SWS avoidance (RFC 9293 3.8.6.2.2): fill a 4000-byte buffer, then read 100 bytes at a time.
        var r = NewReceiver(buffer: 4000, shift: 0);
        r.WindowField(syn: false, mss: 1460);
        r.Accept(r.Next, new byte[4000], 1460, out _, Instant.Zero);
        Assert.That(r.WindowField(syn: false, mss: 1460), Is.Zero);
        int reads = 0;
        while (!r.WindowUpdateWorthSending(1460)) { r.Buffer.Discard(100); reads++; }
        Assert.That(reads, Is.EqualTo(15), "min(MSS 1460, 2000) is reached with the 15th read");
        Assert.That(r.WindowField(syn: false, mss: 1460), Is.EqualTo(1500));
    }

    private sealed class NullSink : IFrameSink
    {
        public void Transmit(ReadOnlySpan<byte> frame) { }
    }
}
