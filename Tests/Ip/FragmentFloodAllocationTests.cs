using UserStack.Diagnostics;
using UserStack.Tests.Support;
using UserStack.Wire;

namespace UserStack.Tests.Ip;

/// <summary>
/// A flood of fragmented echo requests (hping3 -1 -f) is reassembled (RFC 815) and answered with no
/// heap per datagram: 472 B each (a closure per fragment, a record, a list node and hole lists per
/// datagram) grew a flooded stack by 80 MiB. Bytes are counted by the runtime: a count, not a timing.
/// </summary>
public class FragmentFloodAllocationTests
{
    [Test]
    public void Reassembling_and_answering_fragmented_pings_allocates_nothing_per_datagram()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Sink.CountOnly = true;
        var fragments = new List<byte[]>();
        for (ushort id = 0; id < 512; id++)
            fragments.AddRange(FragmentFrames.Split(IpProtocol.Icmp, Frames.Icmp(IcmpType.EchoRequest, 9, id, new byte[1400]), 512, id));
        Assert.That(fragments, Has.Count.EqualTo(3 * 512), "three fragments a datagram");
        for (int i = 0; i < 30_000; i++) s.Receive(fragments[i % fragments.Count]); // warm-up: spare records and pools fill
        long repliesBefore = s.Sink.Count, reassembledBefore = s.Stack.Counters[Counter.Ipv4Reassembled];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 150_000; i++) s.Receive(fragments[i % fragments.Count]);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(s.Stack.Counters[Counter.Ipv4Reassembled] - reassembledBefore, Is.EqualTo(50_000));
        Assert.That(s.Sink.Count - repliesBefore, Is.EqualTo(50_000), "every datagram answered");
        Assert.That(allocated, Is.Zero, $"{allocated / 50_000.0:0.0} B per datagram");
    }
}
