using UserStack.Ip;
using UserStack.Tests.Support;
using UserStack.Wire;

namespace UserStack.Tests.Ip;

/// <summary>Longest-prefix match (RFC 1812 5.2.4.3) over several routes and links, and what a stack picks from it.</summary>
public class RouteSelectionTests
{
    private static readonly Ipv4Address G1 = Ipv4Address.Parse("10.0.0.1"), G2 = Ipv4Address.Parse("10.0.0.2"), G3 = Ipv4Address.Parse("10.0.0.3");

    /// <summary>A stack on 10.0.0.9/24 (eth0, MTU 1500) and 192.168.5.1/24 (eth1, MTU 1280).</summary>
    private static NetStack TwoLinks(out NetworkInterface second)
    {
        var stack = new NetStack(Frames.Options() with { Address = Ipv4Cidr.Parse("10.0.0.9/24"), InterfaceName = "eth0", Gateway = null }, new CapturingSink());
        second = stack.AddInterface(new InterfaceOptions { Name = "eth1", HardwareAddress = MacAddress.Parse("02:00:00:00:05:01"), Address = Ipv4Cidr.Parse("192.168.5.1/24"), Mtu = 1280 }, new CapturingSink());
        return stack;
    }

    [Test]
    public void RFC1812_5_2_4_3_the_longest_matching_prefix_wins()
    {
        var table = new RouteTable();
        table.Add(new Route(Ipv4Cidr.Parse("0.0.0.0/0"), G3));
        table.Add(new Route(Ipv4Cidr.Parse("172.16.0.0/12"), G1));
        table.Add(new Route(Ipv4Cidr.Parse("172.16.4.0/24"), G2));
        table.Add(new Route(Ipv4Cidr.Parse("172.16.0.0/16"), G1));

        Ipv4Address Hop(string d) => table.TryGetNextHop(Ipv4Address.Parse(d), out var h) ? h : Ipv4Address.Any;
        Assert.That(Hop("172.16.4.7"), Is.EqualTo(G2), "/24 over /16, /12 and /0");
        Assert.That(Hop("172.16.9.7"), Is.EqualTo(G1), "/16");
        Assert.That(Hop("172.20.0.1"), Is.EqualTo(G1), "/12");
        Assert.That(Hop("8.8.8.8"), Is.EqualTo(G3), "only the default route holds it");
        Assert.That(table.Routes.Select(r => r.Destination.PrefixLength), Is.EqualTo(new[] { 24, 16, 12, 0 }), "most specific first");
    }

    [Test]
    public void Among_routes_of_the_same_length_the_first_added_wins()
    {
        var table = new RouteTable();
        for (int i = 0; i < 20; i++) table.Add(new Route(Ipv4Cidr.Parse($"10.{i}.0.0/16"), G3));
        table.Add(new Route(Ipv4Cidr.Parse("172.16.0.0/16"), G1));
        table.Add(new Route(Ipv4Cidr.Parse("172.16.0.0/16"), G2));
        Assert.That(table.TryGetNextHop(Ipv4Address.Parse("172.16.1.1"), out var hop), Is.True);
        Assert.That(hop, Is.EqualTo(G1));
    }

    [Test]
    public void Without_a_route_there_is_no_next_hop()
    {
        var table = new RouteTable();
        table.Add(new Route(Ipv4Cidr.Parse("10.0.0.0/8"), null));
        Assert.That(table.TryGetNextHop(Ipv4Address.Parse("11.0.0.1"), out _), Is.False);
        Assert.That(table.TryLookup(Ipv4Address.Parse("10.0.0.1"), out _), Is.False, "an on-link route needs an interface to be used");
    }

    [Test]
    public void Each_link_gets_an_on_link_route_and_a_gateway_resolves_to_the_link_that_holds_it()
    {
        var stack = TwoLinks(out var eth1);
        stack.Routes.Add(new Route(Ipv4Cidr.Parse("172.16.0.0/12"), Ipv4Address.Parse("192.168.5.254")));
        stack.Routes.Add(new Route(Ipv4Cidr.Parse("0.0.0.0/0"), Ipv4Address.Parse("10.0.0.1")));

        Assert.That(stack.Routes.TryLookup(Ipv4Address.Parse("192.168.5.7"), out var onLink), Is.True);
        Assert.That(onLink, Is.EqualTo(new NextHop(Ipv4Address.Parse("192.168.5.7"), eth1)));
        Assert.That(stack.Routes.TryLookup(Ipv4Address.Parse("172.17.0.1"), out var viaGateway), Is.True);
        Assert.That(viaGateway, Is.EqualTo(new NextHop(Ipv4Address.Parse("192.168.5.254"), eth1)));
        Assert.That(stack.Routes.TryLookup(Ipv4Address.Parse("8.8.8.8"), out var byDefault), Is.True);
        Assert.That(byDefault, Is.EqualTo(new NextHop(Ipv4Address.Parse("10.0.0.1"), stack.Primary)));
    }

    [Test]
    public void A_gateway_on_no_link_of_ours_gives_no_route()
    {
        var stack = TwoLinks(out _);
        stack.Routes.Add(new Route(Ipv4Cidr.Parse("172.16.0.0/12"), Ipv4Address.Parse("203.0.113.1")));
        Assert.That(stack.Routes.TryLookup(Ipv4Address.Parse("172.16.0.1"), out _), Is.False);
        stack.Ipv4.PayloadBuffer[..8].Clear();
        Assert.That(stack.Ipv4.Send(stack.Ipv4.Address, Ipv4Address.Parse("172.16.0.1"), IpProtocol.Udp, 8, default), Is.False);
        Assert.That(stack.Counters[DropReason.Ipv4NoRoute], Is.EqualTo(1));
    }

    [Rfc(9293, "MUST-44")]
    [Test]
    public void The_source_and_mtu_of_a_datagram_are_those_of_the_link_its_route_leaves_by()
    {
        var stack = TwoLinks(out _);
        Assert.That(stack.Ipv4.SourceFor(Ipv4Address.Parse("192.168.5.7")), Is.EqualTo(Ipv4Address.Parse("192.168.5.1")));
        Assert.That(stack.Ipv4.SourceFor(Ipv4Address.Parse("10.0.0.7")), Is.EqualTo(Ipv4Address.Parse("10.0.0.9")));
        Assert.That(stack.Ipv4.MtuFor(Ipv4Address.Parse("192.168.5.7")), Is.EqualTo(1280));
        Assert.That(stack.Ipv4.MtuFor(Ipv4Address.Parse("10.0.0.7")), Is.EqualTo(1500));
        Assert.That(stack.Ipv4.IsLocal(Ipv4Address.Parse("192.168.5.1")) && stack.Ipv4.IsLocal(Ipv4Address.Parse("10.0.0.9")), Is.True);
        Assert.That(stack.Ipv4.IsBroadcast(Ipv4Address.Parse("192.168.5.255")), Is.True, "the second link's directed broadcast");
    }

    [Test]
    public void A_udp_datagram_leaves_by_its_routes_link_from_that_links_address_and_mac()
    {
        var eth1Sink = new CapturingSink();
        var stack = new NetStack(Frames.Options() with { Address = Ipv4Cidr.Parse("10.0.0.9/24") }, new CapturingSink());
        var eth1 = stack.AddInterface(new InterfaceOptions { Name = "eth1", HardwareAddress = MacAddress.Parse("02:00:00:00:05:01"), Address = Ipv4Cidr.Parse("192.168.5.1/24") }, eth1Sink);
        var socket = stack.Udp.Open();
        Assert.That(stack.Udp.Send(socket, new byte[4], new UserStack.Transport.Endpoint(Ipv4Address.Parse("192.168.5.7"), 9), default), Is.EqualTo(UserStack.Transport.Errno.Ok));
        var arp = CapturingSink.ReadArp(eth1Sink.Single());
        Assert.That(arp.SenderHardwareAddress, Is.EqualTo(eth1.HardwareAddress), "resolved on eth1 with eth1's MAC");
        Assert.That(arp.SenderProtocolAddress, Is.EqualTo(eth1.Address.Address));
        Assert.That(eth1.Arp.PendingFrames, Is.EqualTo(1));
        Assert.That(stack.Primary.Arp.PendingFrames, Is.Zero);
    }

    [Test]
    public void An_interface_cannot_take_an_address_or_name_the_stack_already_has()
    {
        var stack = TwoLinks(out _);
        Assert.Throws<ArgumentException>(() => stack.AddInterface(new InterfaceOptions { Name = "eth2", HardwareAddress = MacAddress.Parse("02:00:00:00:06:01"), Address = Ipv4Cidr.Parse("192.168.5.1/24") }, new CapturingSink()));
        Assert.Throws<ArgumentException>(() => stack.AddInterface(new InterfaceOptions { Name = "eth1", HardwareAddress = MacAddress.Parse("02:00:00:00:06:01"), Address = Ipv4Cidr.Parse("192.168.6.1/24") }, new CapturingSink()));
        Assert.Throws<ArgumentOutOfRangeException>(() => stack.AddInterface(new InterfaceOptions { Name = "eth3", HardwareAddress = MacAddress.Parse("02:00:00:00:06:01"), Address = Ipv4Cidr.Parse("192.168.7.1/24"), Mtu = 67 }, new CapturingSink()));
        Assert.That(stack.Interfaces, Has.Count.EqualTo(2));
    }
}
