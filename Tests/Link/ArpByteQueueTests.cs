using UserStack.Drivers.Virtual;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Udp;
using UserStack.Wire;

namespace UserStack.Tests.Link;

/// <summary>
/// The pending queue per unresolved neighbour is a byte budget (Linux unres_qlen_bytes, 212,992):
/// the largest UDP datagram, 45 fragments, waits whole for ARP and arrives whole. With the old
/// budget of 8 frames, 37 fragments were lost and the datagram never arrived.
/// </summary>
public class ArpByteQueueTests
{
    [Test]
    public void A_65507_byte_datagram_to_an_unresolved_neighbour_arrives_whole_after_arp_resolves()
    {
        var pair = new WiredPair(1, WireFaults.None);
        var receiver = pair.B.Udp.Open();
        Assert.That(pair.B.Udp.Bind(receiver, new Endpoint(Ipv4Address.Any, 9000)), Is.EqualTo(Errno.Ok));
        var sender = pair.A.Udp.Open();
        var payload = new byte[UdpSocket.MaximumPayload];
        new Random(7).NextBytes(payload);

        Assert.That(pair.A.Arp.Find(WiredPair.AddressB), Is.Null, "B's MAC is unknown before the send");
        Assert.That(pair.A.Udp.Send(sender, payload, new Endpoint(WiredPair.AddressB, 9000), pair.Wire.Now), Is.EqualTo(Errno.Ok));
        Assert.That(pair.A.Arp.PendingFrames, Is.EqualTo(45), "every fragment waits for the ARP reply");

        Assert.That(pair.Wire.RunUntil(() => receiver.QueuedDatagrams > 0, TimeSpan.FromSeconds(5)), Is.True, "the datagram arrives");
        var got = new byte[70000];
        Assert.That(receiver.TryReceive(got, false, out var copied, out var full, out _), Is.EqualTo(Errno.Ok));
        Assert.That(full, Is.EqualTo(payload.Length));
        Assert.That(got.AsSpan(0, copied).SequenceEqual(payload), Is.True);
        Assert.That(pair.A.Counters[DropReason.ArpQueueOverflow], Is.Zero);
        Assert.That(pair.A.Arp.PendingFrames, Is.Zero);
    }

    [Test]
    public void A_flood_to_one_unresolved_neighbour_stops_at_its_byte_budget_counted()
    {
        var pair = new WiredPair(1, WireFaults.None);
        var sender = pair.A.Udp.Open();
        var payload = new byte[1472]; // one 1514-byte frame each
        var silent = Ipv4Address.Parse("10.9.0.77"); // on-link, nobody answers
        for (int i = 0; i < 1000; i++) pair.A.Udp.Send(sender, payload, new Endpoint(silent, 9), pair.Wire.Now);
        int budget = pair.A.Options.Arp.MaxPendingBytesPerDestination;
        Assert.That(pair.A.Arp.PendingFrames, Is.EqualTo(Math.Min(budget / 1514, pair.A.Options.Arp.MaxPendingTotal)));
        Assert.That(pair.A.Counters[DropReason.ArpQueueOverflow], Is.EqualTo(1000 - pair.A.Arp.PendingFrames));
        pair.Wire.RunFor(TimeSpan.FromSeconds(5));
        Assert.That(pair.A.Arp.PendingFrames, Is.Zero, "the entry failed and let its frames go");
        Assert.That(pair.A.Counters[DropReason.ArpResolutionFailed], Is.EqualTo(budget / 1514));
    }
}
