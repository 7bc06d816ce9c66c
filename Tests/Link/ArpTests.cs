using UserStack.Diagnostics;
using UserStack.Link;
using UserStack.Tests.Support;
using UserStack.Wire;

namespace UserStack.Tests.Link;

/// <summary>ARP (RFC 826, RFC 1122 2.3.2) on the virtual clock.</summary>
public class ArpTests
{
    private static readonly Ipv4Address Neighbour = Ipv4Address.Parse("10.0.0.5");
    private static readonly MacAddress NeighbourMac = MacAddress.Parse("02:00:00:00:00:05");

    /// <summary>Sends a small UDP-protocol datagram from the stack to <paramref name="to"/>, as a transport would.</summary>
    private static void SendDatagram(StackUnderTest s, Ipv4Address to, byte marker = 0)
    {
        s.Stack.Ipv4.PayloadBuffer[..4].Fill(marker);
        s.Stack.Ipv4.Send(Frames.StackIp, to, IpProtocol.Udp, 4, s.Now);
    }

    private static List<ArpRepr> ArpOut(StackUnderTest s) =>
        s.Sink.TakeAll().Where(f => f[12] == 0x08 && f[13] == 0x06).Select(CapturingSink.ReadArp).ToList();

    private static List<byte[]> Ipv4Out(StackUnderTest s) =>
        s.Sink.TakeAll().Where(f => f[12] == 0x08 && f[13] == 0x00).ToList();

    [Test]
    public void At_start_the_stack_announces_itself_with_a_gratuitous_arp()
    {
        var s = new StackUnderTest();
        s.Stack.Start(s.Now);
        var frame = s.Sink.Single();
        Assert.That(MacAddress.Read(frame), Is.EqualTo(MacAddress.Broadcast));
        var arp = CapturingSink.ReadArp(frame);
        Assert.That(arp.Operation, Is.EqualTo(ArpOperation.Request));
        Assert.That(arp.SenderProtocolAddress, Is.EqualTo(Frames.StackIp));
        Assert.That(arp.TargetProtocolAddress, Is.EqualTo(Frames.StackIp), "RFC 5227 announcement: target = sender");
        Assert.That(frame.Length, Is.EqualTo(60), "padded to the Ethernet minimum");
    }

    [Test]
    public void A_request_for_our_address_gets_a_unicast_reply_and_teaches_us_the_sender()
    {
        var s = new StackUnderTest();
        s.Receive(Frames.ArpRequestForStack());
        var frame = s.Sink.Single();
        Assert.That(MacAddress.Read(frame), Is.EqualTo(Frames.PeerMac));
        var reply = CapturingSink.ReadArp(frame);
        Assert.That(reply, Is.EqualTo(new ArpRepr(ArpOperation.Reply, Frames.StackMac, Frames.StackIp, Frames.PeerMac, Frames.PeerIp)));
        Assert.That(s.Stack.Arp.Find(Frames.PeerIp)?.HardwareAddress, Is.EqualTo(Frames.PeerMac));
        Assert.That(s.Stack.Arp.Find(Frames.PeerIp)?.State, Is.EqualTo(ArpState.Reachable));
    }

    [Test]
    public void A_request_for_another_address_is_not_answered_and_teaches_nothing()
    {
        var s = new StackUnderTest();
        s.Receive(Frames.Arp(ArpOperation.Request, NeighbourMac, Neighbour, MacAddress.Zero, Ipv4Address.Parse("10.0.0.9")));
        Assert.That(s.Sink.Frames, Is.Empty);
        Assert.That(s.Stack.Arp.Find(Neighbour), Is.Null, "RFC 826: only merge, never add, when the target is not us");
    }

    [Test]
    public void An_arp_probe_from_0_0_0_0_is_answered_without_learning()
    {
        var s = new StackUnderTest();
        s.Receive(Frames.Arp(ArpOperation.Request, NeighbourMac, Ipv4Address.Any, MacAddress.Zero, Frames.StackIp));
        var reply = CapturingSink.ReadArp(s.Sink.Single());
        Assert.That(reply.Operation, Is.EqualTo(ArpOperation.Reply));
        Assert.That(s.Stack.Arp.Entries, Is.Empty);
    }

    [Test]
    public void Sending_to_an_unknown_neighbour_broadcasts_a_request_and_the_reply_releases_the_queue_in_order()
    {
        var s = new StackUnderTest();
        SendDatagram(s, Neighbour, 1);
        SendDatagram(s, Neighbour, 2);
        var requests = ArpOut(s);
        Assert.That(requests, Has.Count.EqualTo(1), "one request, the second datagram waits behind it");
        Assert.That(requests[0].TargetProtocolAddress, Is.EqualTo(Neighbour));
        Assert.That(s.Stack.Arp.Find(Neighbour)?.State, Is.EqualTo(ArpState.Incomplete));

        s.Receive(Frames.Arp(ArpOperation.Reply, NeighbourMac, Neighbour, Frames.StackMac, Frames.StackIp));
        var sent = Ipv4Out(s);
        Assert.That(sent, Has.Count.EqualTo(2));
        Assert.That(sent.Select(f => MacAddress.Read(f)), Is.All.EqualTo(NeighbourMac));
        Assert.That(sent.Select(f => f[34]), Is.EqualTo(new byte[] { 1, 2 }));
    }

    [Test]
    public void At_most_one_request_per_second_per_destination_then_resolution_fails_and_the_queue_is_dropped()
    {
        var s = new StackUnderTest();
        for (int i = 0; i < 5; i++) { SendDatagram(s, Neighbour); s.Advance(TimeSpan.FromMilliseconds(100)); }
        Assert.That(ArpOut(s), Has.Count.EqualTo(1), "five datagrams in 0.5 s, one request (RFC 1122 2.3.2.1)");

        s.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(ArpOut(s), Has.Count.EqualTo(1), "the second request one second after the first");
        s.Advance(TimeSpan.FromSeconds(1));
        Assert.That(ArpOut(s), Has.Count.EqualTo(1), "the third");
        s.Advance(TimeSpan.FromSeconds(1));
        Assert.That(ArpOut(s), Is.Empty, "three requests, then give up");
        Assert.That(s.Stack.Arp.Find(Neighbour), Is.Null);
        Assert.That(s.Stack.Counters[DropReason.ArpResolutionFailed], Is.EqualTo(5));
    }

    [Test]
    public void A_full_pending_queue_drops_the_oldest_and_keeps_the_latest()
    {
        // Budget of three small frames (each 14 + 20 + 4 = 38 bytes before padding): the sixth send leaves the last three.
        var s = new StackUnderTest(Frames.Options() with { Arp = new ArpOptions { MaxPendingBytesPerDestination = 3 * 38 } });
        for (int i = 0; i < 6; i++) SendDatagram(s, Neighbour, (byte)i);
        Assert.That(s.Stack.Counters[DropReason.ArpQueueOverflow], Is.EqualTo(3));
        s.Sink.Frames.Clear();

        s.Receive(Frames.Arp(ArpOperation.Reply, NeighbourMac, Neighbour, Frames.StackMac, Frames.StackIp));
        var markers = Ipv4Out(s).Select(f => (int)f[34]).ToArray();
        Assert.That(markers, Is.EqualTo(new[] { 3, 4, 5 }), "RFC 1122 2.3.2.2: save the latest");
    }

    [Test]
    public void A_frame_larger_than_the_whole_budget_still_waits_alone_as_the_latest()
    {
        var s = new StackUnderTest(Frames.Options() with { Arp = new ArpOptions { MaxPendingBytesPerDestination = 10 } });
        SendDatagram(s, Neighbour, 1);
        SendDatagram(s, Neighbour, 2);
        Assert.That(s.Stack.Counters[DropReason.ArpQueueOverflow], Is.EqualTo(1));
        Assert.That(s.Stack.Arp.PendingFrames, Is.EqualTo(1));
        s.Sink.Frames.Clear();
        s.Receive(Frames.Arp(ArpOperation.Reply, NeighbourMac, Neighbour, Frames.StackMac, Frames.StackIp));
        Assert.That(Ipv4Out(s).Select(f => (int)f[34]), Is.EqualTo(new[] { 2 }), "RFC 1122 2.3.2.2: at least the latest");
    }

    [Test]
    public void An_idle_entry_ages_out_after_its_lifetime()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Advance(s.Stack.Options.Arp.EntryLifetime - TimeSpan.FromSeconds(1));
        Assert.That(s.Stack.Arp.Find(Frames.PeerIp), Is.Not.Null);
        s.Advance(TimeSpan.FromSeconds(2));
        Assert.That(s.Stack.Arp.Find(Frames.PeerIp), Is.Null);
        Assert.That(s.Sink.Frames, Is.Empty, "an idle entry is dropped quietly, not polled");
    }

    [Test]
    public void An_entry_in_use_is_re_resolved_by_unicast_while_traffic_keeps_flowing()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Advance(TimeSpan.FromSeconds(30));
        SendDatagram(s, Frames.PeerIp);
        s.Sink.Frames.Clear();
        s.Advance(TimeSpan.FromSeconds(30.5)); // lifetime over: the entry was used, so poll it

        var poll = s.Sink.TakeAll();
        Assert.That(poll, Has.Count.EqualTo(1));
        Assert.That(MacAddress.Read(poll[0]), Is.EqualTo(Frames.PeerMac), "unicast poll (RFC 1122 2.3.2.1)");
        Assert.That(s.Stack.Arp.Find(Frames.PeerIp)?.State, Is.EqualTo(ArpState.Probing));

        SendDatagram(s, Frames.PeerIp);
        Assert.That(Ipv4Out(s), Has.Count.EqualTo(1), "datagrams still go out with the cached address while polling");

        s.Receive(Frames.Arp(ArpOperation.Reply, Frames.PeerMac, Frames.PeerIp, Frames.StackMac, Frames.StackIp));
        Assert.That(s.Stack.Arp.Find(Frames.PeerIp)?.State, Is.EqualTo(ArpState.Reachable));
    }

    [Test]
    public void An_unanswered_poll_removes_the_entry_so_the_next_datagram_broadcasts()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Advance(TimeSpan.FromSeconds(10));
        SendDatagram(s, Frames.PeerIp);
        s.Advance(TimeSpan.FromSeconds(51));
        s.Advance(TimeSpan.FromSeconds(3));
        Assert.That(ArpOut(s), Has.Count.EqualTo(3), "three unicast polls");
        s.Advance(TimeSpan.FromSeconds(1));
        Assert.That(s.Stack.Arp.Find(Frames.PeerIp), Is.Null);

        SendDatagram(s, Frames.PeerIp);
        var frames = s.Sink.TakeAll();
        Assert.That(frames, Has.Count.EqualTo(1));
        Assert.That(MacAddress.Read(frames[0]), Is.EqualTo(MacAddress.Broadcast));
    }

    [Test]
    public void An_unsolicited_reply_updates_a_known_neighbour()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var moved = MacAddress.Parse("02:00:00:00:00:77");
        s.Receive(Frames.Arp(ArpOperation.Request, moved, Frames.PeerIp, MacAddress.Zero, Frames.PeerIp)); // the peer's own gratuitous ARP
        Assert.That(s.Stack.Arp.Find(Frames.PeerIp)?.HardwareAddress, Is.EqualTo(moved), "RFC 826 merge flag");
        Assert.That(s.Stack.Counters[DropReason.ArpNotForUs], Is.Zero, "a merged update is not a drop");
    }

    [Test]
    public void Off_link_destinations_resolve_the_gateway()
    {
        var s = new StackUnderTest();
        SendDatagram(s, Ipv4Address.Parse("198.51.100.7"));
        var request = ArpOut(s).Single();
        Assert.That(request.TargetProtocolAddress, Is.EqualTo(Ipv4Address.Parse("10.0.0.254")));
    }

    [Test]
    public void Without_a_gateway_off_link_destinations_are_dropped_as_no_route()
    {
        var s = new StackUnderTest(Frames.Options() with { Gateway = null });
        SendDatagram(s, Ipv4Address.Parse("198.51.100.7"));
        Assert.That(s.Sink.Frames, Is.Empty);
        Assert.That(s.Stack.Counters[DropReason.Ipv4NoRoute], Is.EqualTo(1));
    }

    [Test]
    public void A_full_cache_evicts_the_least_recently_used_entry()
    {
        var s = new StackUnderTest(Frames.Options() with { Arp = new ArpOptions { Capacity = 4 } });
        for (int i = 0; i < 5; i++)
        {
            s.Receive(Frames.ArpRequestForStack(MacAddress.Parse($"02:00:00:00:01:0{i}"), Ipv4Address.Parse($"10.0.0.{10 + i}")));
            s.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.That(s.Stack.Arp.Entries, Has.Count.EqualTo(4));
        Assert.That(s.Stack.Arp.Find(Ipv4Address.Parse("10.0.0.10")), Is.Null, "the oldest made room");
        Assert.That(s.Stack.Arp.Find(Ipv4Address.Parse("10.0.0.14")), Is.Not.Null);
    }

    [Test]
    public void Broadcast_datagrams_need_no_resolution()
    {
        var s = new StackUnderTest();
        SendDatagram(s, Ipv4Address.Parse("10.0.0.255"));
        var frame = s.Sink.Single();
        Assert.That(MacAddress.Read(frame), Is.EqualTo(MacAddress.Broadcast));
        Assert.That(s.Stack.Counters[Counter.ArpRequestsSent], Is.Zero);
    }
}
