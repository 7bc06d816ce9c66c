using UserStack.Tcp;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>The out-of-order store: overlapping segments are kept once, and drained in order.</summary>
public class ReassemblerTests
{
    private static byte[] Stream(int from, int length) => Enumerable.Range(from, length).Select(i => (byte)(i * 31)).ToArray();

    [Test]
    public void Overlapping_segments_are_stored_once_and_drain_as_the_original_stream()
    {
        var store = new Reassembler(maxSegments: 16);
        var base0 = new SeqNumber(1000);
        foreach (var (from, length) in new[] { (100, 100), (150, 250), (50, 450), (600, 50), (620, 100), (40, 5) })
            Assert.That(store.Store(base0 + from, Stream(from, length)), Is.True);
        // Held: 40..45, 50..500, 600..720 once each.
        Assert.That(store.StoredBytes, Is.EqualTo(5 + 450 + 120));

        var ring = new ByteRing(4096);
        var next = base0 + 40;
        store.Drain(ref next, ring, discard: false);
        Assert.That(next, Is.EqualTo(base0 + 45), "stops at the first hole");
        ring.Write(Stream(45, 5)); // the hole at 45..50 arrives in order
        next = base0 + 50;
        store.Drain(ref next, ring, discard: false);
        Assert.That(next, Is.EqualTo(base0 + 500));
        var got = new byte[ring.Count];
        ring.Read(got);
        Assert.That(got, Is.EqualTo(Stream(40, 460)));
        Assert.That(store.StoredBytes, Is.EqualTo(120));
    }

    [Test]
    public void A_segment_already_held_is_a_duplicate_reported_first_and_followed_by_its_block()
    {
        var store = new Reassembler(maxSegments: 16);
        var next = new SeqNumber(1);
        store.Store(new SeqNumber(2001), new byte[1000]);
        store.Store(new SeqNumber(2001), new byte[500]);
        var blocks = store.Blocks(next, 4);
        Assert.That(blocks.Count, Is.EqualTo(2));
        Assert.That(blocks[0], Is.EqualTo(new SackBlock(new SeqNumber(2001), new SeqNumber(2501))), "RFC 2883: the D-SACK first");
        Assert.That(blocks[1], Is.EqualTo(new SackBlock(new SeqNumber(2001), new SeqNumber(3001))), "then the block that holds it");
        Assert.That(store.Blocks(next, 4).Count, Is.EqualTo(1), "the D-SACK is reported once");
    }
}
