using UserStack.Tests.Support;
using UserStack.Wire;

namespace UserStack.Tests.Link;

/// <summary>
/// docs/defences.md: a flood of packets that need answers from unresolved neighbours cannot grow the
/// ARP layer: at most MaxUnresolvedEntries neighbours are resolved at once and MaxPendingTotal frames
/// wait in all queues together; everything beyond is a counted drop.
/// </summary>
public class ArpCapTests
{
    private static byte[] SynToClosedPort(Ipv4Address source, ushort port)
    {
        var repr = new TcpRepr(port, 81, new SeqNumber(1), default, TcpFlags.Syn, 1000);
        var bytes = new byte[repr.Length];
        repr.Write(bytes, source, Frames.StackIp);
        return Frames.Ipv4(IpProtocol.Tcp, bytes, source);
    }

    [Test]
    public void Replies_to_many_unresolved_neighbours_stop_at_the_unresolved_entry_cap()
    {
        var s = new StackUnderTest();
        var cap = s.Stack.Options.Arp.MaxUnresolvedEntries;
        for (uint i = 0; i < 200; i++) s.Receive(SynToClosedPort(new Ipv4Address(0x0A000010 + i), 40000)); // 10.0.0.16 on: on-link, never answer ARP
        Assert.That(s.Stack.Arp.UnresolvedEntries, Is.EqualTo(cap));
        Assert.That(s.Stack.Counters[DropReason.ArpUnresolvedOverflow], Is.EqualTo(200 - cap));
    }

    [Test]
    public void Frames_waiting_in_all_queues_together_stop_at_the_total_cap()
    {
        var s = new StackUnderTest();
        var options = s.Stack.Options.Arp;
        for (uint i = 0; i < 100; i++)
            for (ushort p = 0; p < 6; p++)
                s.Receive(SynToClosedPort(new Ipv4Address(0x0A000010 + i), (ushort)(40000 + p)));
        Assert.That(s.Stack.Arp.PendingFrames, Is.LessThanOrEqualTo(options.MaxPendingTotal));
        Assert.That(s.Stack.Arp.Entries.Sum(e => e.State == UserStack.Link.ArpState.Incomplete ? 1 : 0), Is.EqualTo(100));
        Assert.That(s.Stack.Counters[DropReason.ArpQueueOverflow], Is.EqualTo(600 - s.Stack.Arp.PendingFrames));
        // The entries fail after their requests: every waiting frame goes, counted.
        s.Advance(TimeSpan.FromSeconds(10));
        Assert.That(s.Stack.Arp.PendingFrames, Is.Zero);
        Assert.That(s.Stack.Arp.UnresolvedEntries, Is.Zero);
    }
}
