using System.Buffers.Binary;
using UserStack.Diagnostics;
using UserStack.Ip;
using UserStack.Raw;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;
using static UserStack.Tests.Support.RoutedTrio;

namespace UserStack.Tests.Ip;

/// <summary>
/// RFC 1812 forwarding between two interfaces of one stack: host A - router R - host C on two
/// virtual links (<see cref="RoutedTrio"/>). docs/routing.md lists the rules and Linux's choices.
/// </summary>
public class ForwardingTests
{
    private static RawSocket IcmpSocket(NetStack stack) => stack.Raw.Open(IpProtocol.Icmp);

    private static void SendEcho(NetStack from, RawSocket socket, Ipv4Address to, ushort sequence, int dataLength, Drivers.Virtual.VirtualWire wire) =>
        Assert.That(from.Raw.Send(socket, Frames.Icmp(IcmpType.EchoRequest, 77, sequence, Frames.Pattern(dataLength, sequence)), to, wire.Now), Is.EqualTo(Errno.Ok));

    /// <summary>The datagrams (IP header included) a raw ICMP socket holds, as parsed reprs plus their ICMP bytes.</summary>
    private static List<(Ipv4Repr Ip, byte[] Icmp)> Take(RawSocket socket)
    {
        var list = new List<(Ipv4Repr, byte[])>();
        var buffer = new byte[70000];
        while (socket.TryReceive(buffer, false, out int n, out _, out _) == Errno.Ok)
        {
            Assert.That(Ipv4Packet.TryRead(buffer.AsSpan(0, n), out var ip, out _), Is.True);
            list.Add((ip.ToRepr(), ip.Payload.ToArray()));
        }
        return list;
    }

    [Test]
    public void RFC1812_5_3_1_a_ping_across_the_router_is_answered_and_arrives_with_the_ttl_one_less()
    {
        var t = new RoutedTrio();
        var a = IcmpSocket(t.A);
        var c = IcmpSocket(t.C);
        for (ushort i = 0; i < 5; i++) SendEcho(t.A, a, AddressC, i, 100, t.Wire);
        t.Wire.RunFor(TimeSpan.FromSeconds(1));

        var requests = Take(c).Where(d => d.Icmp[0] == (byte)IcmpType.EchoRequest).ToList();
        var replies = Take(a).Where(d => d.Icmp[0] == (byte)IcmpType.EchoReply).ToList();
        Assert.That(requests, Has.Count.EqualTo(5));
        Assert.That(requests.All(r => r.Ip.TimeToLive == 63 && r.Ip.Source == AddressA), Is.True, "one hop: 64 - 1");
        Assert.That(replies, Has.Count.EqualTo(5));
        Assert.That(replies.All(r => r.Ip.TimeToLive == 63 && r.Ip.Source == AddressC), Is.True);
        Assert.That(t.R.Counters[Counter.Ipv4Forwarded], Is.EqualTo(10));
        Assert.That(t.C.Counters[DropReason.Ipv4BadChecksum] + t.A.Counters[DropReason.Ipv4BadChecksum], Is.Zero, "the updated header checksums hold");
    }

    [Test]
    public void The_router_answers_a_ping_to_its_far_address_from_that_address()
    {
        var t = new RoutedTrio();
        var a = IcmpSocket(t.A);
        SendEcho(t.A, a, RouterC, 1, 10, t.Wire);
        t.Wire.RunFor(TimeSpan.FromSeconds(1));
        var reply = Take(a).Single(d => d.Icmp[0] == (byte)IcmpType.EchoReply);
        Assert.That(reply.Ip.Source, Is.EqualTo(RouterC), "any address of the stack is local on any link (weak host, RFC 1122 3.3.4.2)");
        Assert.That(reply.Ip.TimeToLive, Is.EqualTo(64), "answered by R itself, not forwarded");
        Assert.That(t.R.Counters[Counter.Ipv4Forwarded], Is.Zero);
    }

    [Test]
    public void Tcp_across_the_router_carries_300_KB_intact()
    {
        var t = new RoutedTrio();
        var (client, server) = t.Connect(80);
        Assert.That(server, Is.Not.Null, "handshake through R");
        var data = Frames.Pattern(300_000, 5);
        var received = new MemoryStream();
        int sent = 0;
        var buffer = new byte[65536];
        Assert.That(t.Wire.RunUntil(() =>
        {
            if (sent < data.Length) sent += client.Send(data.AsSpan(sent), t.Wire.Now, out _);
            int n;
            while ((n = server!.Receive(buffer, false, t.Wire.Now, out _)) > 0) received.Write(buffer, 0, n);
            return received.Length == data.Length;
        }, TimeSpan.FromSeconds(30)), Is.True, $"received {received.Length}");
        Assert.That(received.ToArray().SequenceEqual(data), Is.True);
        Assert.That(t.R.Counters.TotalDrops, Is.EqualTo(t.R.Counters[DropReason.ArpNotForUs]), "R passes over A's and C's announcements only");
    }

    [Test]
    public void RFC1812_5_3_1_ttl_1_is_not_forwarded_and_the_source_hears_time_exceeded_in_transit()
    {
        var t = new RoutedTrio();
        var a = IcmpSocket(t.A);
        a.TimeToLive = 1;
        var c = IcmpSocket(t.C);
        SendEcho(t.A, a, AddressC, 1, 20, t.Wire);
        t.Wire.RunFor(TimeSpan.FromSeconds(1));

        var error = Take(a).Single(d => d.Icmp[0] == (byte)IcmpType.TimeExceeded);
        Assert.That(error.Icmp[1], Is.EqualTo(0), "code 0: time to live exceeded in transit");
        Assert.That(error.Ip.Source, Is.EqualTo(RouterA), "from R's address on A's link");
        Assert.That(Ipv4Address.Read(error.Icmp.AsSpan(8 + 16)), Is.EqualTo(AddressC), "quotes the original header");
        Assert.That(t.R.Counters[DropReason.Ipv4TimeToLiveExceeded], Is.EqualTo(1));
        Assert.That(Take(c), Is.Empty, "C never sees it");
    }

    [Test]
    public void RFC1191_a_df_datagram_too_big_for_the_next_link_gets_fragmentation_needed_with_its_mtu()
    {
        var t = new RoutedTrio(routerMtuTowardsC: 1000);
        var a = IcmpSocket(t.A);
        var udp = t.A.Udp.Open();
        udp.PathMtuDiscovery = PathMtuDiscovery.Do;
        Assert.That(t.A.Udp.Send(udp, new byte[1400], new Endpoint(AddressC, 9), t.Wire.Now), Is.EqualTo(Errno.Ok));
        t.Wire.RunFor(TimeSpan.FromSeconds(1));

        var error = Take(a).Single(d => d.Icmp[0] == (byte)IcmpType.DestinationUnreachable);
        Assert.That(error.Icmp[1], Is.EqualTo(4), "fragmentation needed and DF set");
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(error.Icmp.AsSpan(6)), Is.EqualTo(1000), "RFC 1191 4: the next-hop MTU");
        Assert.That(t.R.Counters[DropReason.Ipv4TooBig], Is.EqualTo(1));
        Assert.That(t.C.Counters[Counter.Ipv4Received], Is.Zero);
    }

    [Test]
    public void RFC791_without_df_the_router_fragments_on_the_smaller_link_and_c_reassembles()
    {
        var t = new RoutedTrio(routerMtuTowardsC: 1000);
        var receiver = t.C.Udp.Open();
        t.C.Udp.Bind(receiver, new Endpoint(Ipv4Address.Any, 9));
        var sender = t.A.Udp.Open();
        sender.PathMtuDiscovery = PathMtuDiscovery.Dont;
        var payload = Frames.Pattern(1400, 3);
        Assert.That(t.A.Udp.Send(sender, payload, new Endpoint(AddressC, 9), t.Wire.Now), Is.EqualTo(Errno.Ok));
        Assert.That(t.Wire.RunUntil(() => receiver.QueuedDatagrams > 0, TimeSpan.FromSeconds(1)), Is.True);
        var got = new byte[2000];
        receiver.TryReceive(got, false, out int n, out _, out _);
        Assert.That(got.AsSpan(0, n).SequenceEqual(payload), Is.True);
        Assert.That(t.R.Counters[Counter.Ipv4FragmentsSent], Is.EqualTo(2), "1428 bytes of datagram over a 1000-byte link: 976 + 432");
        Assert.That(t.C.Counters[Counter.Ipv4Reassembled], Is.EqualTo(1));
    }

    [Test]
    public void A_fragment_is_fragmented_again_at_its_own_offset_and_c_reassembles_the_whole()
    {
        // A sends 3000 bytes in fragments of its 1500 MTU; R cuts each again for its 600-byte link.
        var t = new RoutedTrio(routerMtuTowardsC: 600);
        var receiver = t.C.Udp.Open();
        t.C.Udp.Bind(receiver, new Endpoint(Ipv4Address.Any, 9));
        var sender = t.A.Udp.Open();
        var payload = Frames.Pattern(3000, 4);
        t.A.Udp.Send(sender, payload, new Endpoint(AddressC, 9), t.Wire.Now);
        Assert.That(t.Wire.RunUntil(() => receiver.QueuedDatagrams > 0, TimeSpan.FromSeconds(1)), Is.True);
        var got = new byte[4000];
        receiver.TryReceive(got, false, out int n, out _, out _);
        Assert.That(got.AsSpan(0, n).SequenceEqual(payload), Is.True);
        Assert.That(t.A.Counters[Counter.Ipv4FragmentsSent], Is.EqualTo(3));
        Assert.That(t.R.Counters[Counter.Ipv4FragmentsSent], Is.GreaterThan(3));
    }

    [Test]
    public void Tcp_across_a_smaller_link_learns_the_path_mtu_from_the_router_and_completes()
    {
        var t = new RoutedTrio(routerMtuTowardsC: 1000);
        var (client, server) = t.Connect(80);
        Assert.That(server, Is.Not.Null);
        var data = Frames.Pattern(100_000, 6);
        var received = new MemoryStream();
        int sent = 0;
        var buffer = new byte[65536];
        Assert.That(t.Wire.RunUntil(() =>
        {
            if (sent < data.Length) sent += client.Send(data.AsSpan(sent), t.Wire.Now, out _);
            int n;
            while ((n = server!.Receive(buffer, false, t.Wire.Now, out _)) > 0) received.Write(buffer, 0, n);
            return received.Length == data.Length;
        }, TimeSpan.FromSeconds(60)), Is.True, $"received {received.Length}");
        Assert.That(received.ToArray().SequenceEqual(data), Is.True);
        Assert.That(client.PathMtu, Is.EqualTo(1000), "RFC 1191: from R's fragmentation needed");
        Assert.That(t.R.Counters[DropReason.Ipv4TooBig], Is.GreaterThan(0));
    }

    [Rfc(9293, "MUST-67"), Rfc(9293, "MUST-44")]
    [Test]
    public void RFC9293_3_7_1_a_connection_announces_the_mss_of_the_link_its_route_leaves_by()
    {
        var t = new RoutedTrio(routerMtuTowardsC: 1000);
        var listener = t.C.Tcp.Open();
        t.C.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 81));
        t.C.Tcp.Listen(listener, 4, t.Wire.Now);
        var towardsC = t.R.Tcp.Open();
        t.R.Tcp.Connect(towardsC, new Endpoint(AddressC, 81), t.Wire.Now);
        var towardsA = t.R.Tcp.Open();
        t.R.Tcp.Connect(towardsA, new Endpoint(AddressA, 82), t.Wire.Now);
        Assert.That(towardsC.LocalMss, Is.EqualTo(960), "R's link to C has MTU 1000");
        Assert.That(towardsC.PathMtu, Is.EqualTo(1000));
        Assert.That(towardsA.LocalMss, Is.EqualTo(1460));
        TcpConnection? server = null;
        Assert.That(t.Wire.RunUntil(() => (server ??= listener.TakeAccepted()) is not null, TimeSpan.FromSeconds(5)), Is.True);

    }

    [Test]
    public void With_forwarding_off_a_datagram_for_another_host_is_dropped_and_counted()
    {
        var t = new RoutedTrio(forwarding: false);
        var a = IcmpSocket(t.A);
        SendEcho(t.A, a, AddressC, 1, 10, t.Wire);
        t.Wire.RunFor(TimeSpan.FromSeconds(1));
        Assert.That(t.R.Counters[DropReason.Ipv4NotForUs], Is.EqualTo(1), "RFC 1122 3.3.4.2: a host does not forward");
        Assert.That(t.R.Counters[Counter.Ipv4Forwarded], Is.Zero);
        Assert.That(t.C.Counters[Counter.Ipv4Received], Is.Zero);
        Assert.That(Take(a).Where(d => d.Icmp[0] != (byte)IcmpType.EchoRequest), Is.Empty, "no answer, no ICMP error");
    }

    [Test]
    public void RFC1812_5_2_7_1_no_route_gets_net_unreachable()
    {
        var t = new RoutedTrio();
        var a = IcmpSocket(t.A);
        SendEcho(t.A, a, Ipv4Address.Parse("10.3.0.5"), 1, 10, t.Wire);
        t.Wire.RunFor(TimeSpan.FromSeconds(1));
        var error = Take(a).Single(d => d.Icmp[0] == (byte)IcmpType.DestinationUnreachable);
        Assert.That(error.Icmp[1], Is.EqualTo(0), "code 0: net unreachable");
        Assert.That(t.R.Counters[DropReason.Ipv4NoRoute], Is.EqualTo(1));
    }

    [Test]
    public void A_default_route_on_the_router_carries_what_no_other_route_holds()
    {
        var t = new RoutedTrio(defaultRouteOnRouter: true);
        var c = IcmpSocket(t.C);
        var a = IcmpSocket(t.A);
        SendEcho(t.A, a, Ipv4Address.Parse("10.3.0.5"), 1, 10, t.Wire);
        t.Wire.RunFor(TimeSpan.FromSeconds(1));
        Assert.That(t.R.Counters[Counter.Ipv4Forwarded], Is.EqualTo(1), "to C, R's default gateway");
        Assert.That(t.C.Counters[DropReason.Ipv4NotForUs], Is.EqualTo(1), "C is a host and drops it");
        Assert.That(Take(c), Is.Empty);
    }

    private static byte[] ToRouter(RoutedTrio t, Ipv4Address source, Ipv4Address destination, MacAddress? ethernetDestination = null, byte ttl = 64)
    {
        var frame = Frames.Ipv4(IpProtocol.Udp, new byte[8], source, destination, ethernetDestination ?? t.R.Primary.HardwareAddress, ttl);
        return frame;
    }

    [TestCase("10.2.0.2", "ff:ff:ff:ff:ff:ff", "10.1.0.2", DropReason.Ipv4NotForwardable, TestName = "RFC1812_5_3_4_a_link_layer_broadcast_is_not_forwarded")]
    [TestCase("224.0.0.5", null, "10.1.0.2", DropReason.Ipv4NotForwardable, TestName = "Multicast_is_not_forwarded_without_multicast_routing")]
    [TestCase("240.0.0.1", null, "10.1.0.2", DropReason.Ipv4NotForwardable, TestName = "RFC1812_5_3_7_a_class_e_destination_is_not_forwarded")]
    [TestCase("10.2.0.2", null, "127.0.0.1", DropReason.Ipv4BadSource, TestName = "RFC1812_5_3_7_a_loopback_source_is_not_forwarded")]
    [TestCase("10.2.0.2", null, "224.0.0.1", DropReason.Ipv4BadSource, TestName = "RFC1812_5_3_7_a_multicast_source_is_not_forwarded")]
    [TestCase("10.2.0.2", null, "10.2.0.255", DropReason.Ipv4BadSource, TestName = "RFC1812_5_3_7_a_directed_broadcast_source_is_not_forwarded")]
    public void Datagrams_a_router_must_not_forward_are_dropped_and_counted(string destination, string? ethernetDestination, string source, DropReason reason)
    {
        var t = new RoutedTrio();
        t.Wire.RunFor(TimeSpan.FromMilliseconds(10));
        long sentBefore = t.R.Counters[Counter.FramesSent];
        t.R.Receive(t.R.Primary, ToRouter(t, Ipv4Address.Parse(source), Ipv4Address.Parse(destination), ethernetDestination is null ? null : MacAddress.Parse(ethernetDestination)), t.Wire.Now);
        Assert.That(t.R.Counters[reason], Is.EqualTo(1));
        Assert.That(t.R.Counters[Counter.Ipv4Forwarded], Is.Zero);
        Assert.That(t.R.Counters[Counter.FramesSent], Is.EqualTo(sentBefore), "nothing sent: no forward, no ICMP error");
    }

    [Test]
    public void RFC1624_the_incrementally_updated_checksum_equals_a_full_recomputation()
    {
        var random = new Random(1624);
        var header = new byte[20];
        for (int i = 0; i < 20_000; i++)
        {
            var repr = new Ipv4Repr(new Ipv4Address((uint)random.Next()), new Ipv4Address((uint)random.Next()), (IpProtocol)random.Next(256),
                random.Next(0, 1400), (byte)random.Next(2, 256), (ushort)random.Next(65536), Ipv4Flags.None, 0, (byte)random.Next(256));
            repr.Write(header);
            Ipv4Layer.DecrementTimeToLive(header);
            Assert.That(header[8], Is.EqualTo(repr.TimeToLive - 1));
            Assert.That(InternetChecksum.IsValid(header), Is.True, $"#{i}: {repr}");
        }
    }
}
