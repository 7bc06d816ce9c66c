using UserStack.Wire;

namespace UserStack.Tests.Support;

/// <summary>Collects what the stack transmits, as copies.</summary>
public sealed class CapturingSink : IFrameSink
{
    public List<byte[]> Frames { get; } = new();
    /// <summary>Only count what is sent (allocation tests: the copies would be the test's own garbage).</summary>
    public bool CountOnly { get; set; }
    public long Count { get; private set; }

    public void Transmit(ReadOnlySpan<byte> frame)
    {
        Count++;
        if (!CountOnly) Frames.Add(frame.ToArray());
    }

    public byte[] Single()
    {
        Assert.That(Frames, Has.Count.EqualTo(1), "expected exactly one frame out");
        var f = Frames[0];
        Frames.Clear();
        return f;
    }

    public List<byte[]> TakeAll()
    {
        var all = Frames.ToList();
        Frames.Clear();
        return all;
    }

    public static ArpRepr ReadArp(byte[] frame)
    {
        Assert.That(EthernetFrame.TryRead(frame, out var e, out _), Is.True);
        Assert.That(e.EtherType, Is.EqualTo(EtherType.Arp));
        Assert.That(ArpPacket.TryRead(e.Payload, out var a, out var why), Is.True, why.ToString());
        return a.ToRepr();
    }
}
