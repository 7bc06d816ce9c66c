using System.Buffers.Binary;
using System.Net.Sockets;
using PacketDotNet;
using UserStack.Diagnostics;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Udp;
using UserStack.Wire;

namespace UserStack.Tests.Udp;

/// <summary>UDP (RFC 768, RFC 1122 4.1) in the core, on the virtual clock.</summary>
public class UdpTests
{
    private static byte[] Datagram(ushort sourcePort, ushort destinationPort, byte[] data, Ipv4Address? destination = null, bool zeroChecksum = false)
    {
        var dst = destination ?? Frames.StackIp;
        var udp = new byte[UdpDatagram.HeaderLength + data.Length];
        data.CopyTo(udp, UdpDatagram.HeaderLength);
        new UdpRepr(sourcePort, destinationPort, data.Length).Write(udp, Frames.PeerIp, dst);
        if (zeroChecksum) udp[6] = udp[7] = 0;
        return Frames.Ipv4(IpProtocol.Udp, udp, destination: dst, ethernetDestination: dst.IsLimitedBroadcast || dst == Ipv4Address.Parse("10.0.0.255") ? MacAddress.Broadcast : null);
    }

    private static (StackUnderTest S, UdpSocket Socket) Bound(ushort port = 7)
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var socket = s.Stack.Udp.Open();
        Assert.That(s.Stack.Udp.Bind(socket, new Endpoint(Ipv4Address.Any, port)), Is.EqualTo(Errno.Ok));
        return (s, socket);
    }

    private static (byte[] Data, Endpoint From) Take(UdpSocket socket)
    {
        var buffer = new byte[65536];
        Assert.That(socket.TryReceive(buffer, false, out int n, out _, out var from), Is.EqualTo(Errno.Ok));
        return (buffer[..n], from);
    }

    [Test]
    public void A_datagram_for_a_bound_port_is_queued_with_its_source()
    {
        var (s, socket) = Bound();
        s.Receive(Datagram(5000, 7, [1, 2, 3]));
        var (data, from) = Take(socket);
        Assert.That(data, Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(from, Is.EqualTo(new Endpoint(Frames.PeerIp, 5000)));
        Assert.That(s.Stack.Counters[Counter.UdpDelivered], Is.EqualTo(1));
    }

    [Test]
    public void A_zero_checksum_means_none_and_is_accepted()
    {
        var (s, socket) = Bound();
        s.Receive(Datagram(5000, 7, [9], zeroChecksum: true));
        Assert.That(Take(socket).Data, Is.EqualTo(new byte[] { 9 }));
    }

    [Test]
    public void A_bad_checksum_is_dropped_and_counted()
    {
        var (s, socket) = Bound();
        var frame = Datagram(5000, 7, [1, 2, 3]);
        frame[^1] ^= 0xFF;
        s.Receive(frame);
        Assert.That(socket.QueuedDatagrams, Is.Zero);
        Assert.That(s.Stack.Counters[DropReason.UdpBadChecksum], Is.EqualTo(1));
    }

    [Test]
    public void A_length_field_past_the_datagram_is_dropped_and_counted()
    {
        var (s, _) = Bound();
        var frame = Datagram(5000, 7, [1, 2, 3]);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(34 + 4), 200);
        s.Receive(frame);
        Assert.That(s.Stack.Counters[DropReason.UdpBadLength], Is.EqualTo(1));
    }

    [Test]
    public void A_closed_port_answers_with_icmp_port_unreachable_quoting_the_datagram()
    {
        var (s, _) = Bound();
        var frame = Datagram(5000, 9999, [1, 2, 3]);
        s.Receive(frame);
        var reply = Packet.ParsePacket(LinkLayers.Ethernet, s.Sink.Single());
        var icmp = reply.Extract<IcmpV4Packet>();
        Assert.That(icmp.TypeCode, Is.EqualTo(IcmpV4TypeCode.UnreachablePort));
        Assert.That(icmp.ValidIcmpChecksum, Is.True);
        Assert.That(icmp.Data, Is.EqualTo(frame.AsSpan(14).ToArray()), "the whole datagram (under 576 bytes)");
        Assert.That(s.Stack.Counters[DropReason.UdpNoSocket], Is.EqualTo(1));
    }

    [Test]
    public void A_broadcast_to_a_closed_port_gets_no_icmp_error()
    {
        var (s, _) = Bound();
        s.Receive(Datagram(5000, 9999, [1], destination: Ipv4Address.Broadcast));
        Assert.That(s.Sink.Frames, Is.Empty, "RFC 1122 3.2.2");
        Assert.That(s.Stack.Counters[DropReason.UdpNoSocket], Is.EqualTo(1));
    }

    [Test]
    public void A_broadcast_reaches_wildcard_sockets_on_its_port()
    {
        var (s, socket) = Bound(67);
        s.Receive(Datagram(68, 67, [5], destination: Ipv4Address.Broadcast));
        Assert.That(Take(socket).Data, Is.EqualTo(new byte[] { 5 }));
    }

    [Rfc(1122, "3.2.2")]
    [Test]
    public void Port_unreachable_is_reported_to_a_connected_socket_as_connection_refused()
    {
        var (s, socket) = Bound(40000);
        Assert.That(s.Stack.Udp.Connect(socket, new Endpoint(Frames.PeerIp, 9)), Is.EqualTo(Errno.Ok));
        s.Receive(PortUnreachableFromPeer(40000, 9));
        Assert.That(socket.PendingError, Is.EqualTo(Errno.ECONNREFUSED));
        Assert.That(socket.TakeError(), Is.EqualTo(Errno.ECONNREFUSED));
        Assert.That(socket.PendingError, Is.EqualTo(Errno.Ok), "SO_ERROR is reported once");
    }

    [Test]
    public void An_unconnected_socket_is_not_told_about_icmp_errors()
    {
        var (s, socket) = Bound(40000);
        s.Receive(PortUnreachableFromPeer(40000, 9));
        Assert.That(socket.PendingError, Is.EqualTo(Errno.Ok), "BSD: only connected sockets hear of ICMP errors");
    }

    private static byte[] PortUnreachableFromPeer(ushort ourPort, ushort theirPort)
    {
        // What the peer would send back about our datagram: our IP header and UDP header quoted.
        var ours = new byte[28];
        new Ipv4Repr(Frames.StackIp, Frames.PeerIp, IpProtocol.Udp, 8).Write(ours);
        BinaryPrimitives.WriteUInt16BigEndian(ours.AsSpan(20), ourPort);
        BinaryPrimitives.WriteUInt16BigEndian(ours.AsSpan(22), theirPort);
        BinaryPrimitives.WriteUInt16BigEndian(ours.AsSpan(24), 8);
        return Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.DestinationUnreachable, 0, 0, ours, code: 3));
    }

    [Test]
    public void A_full_receive_buffer_drops_and_counts()
    {
        var (s, socket) = Bound();
        socket.ReceiveBufferSize = 4 * (100 + DatagramQueue.Overhead);
        for (int i = 0; i < 10; i++) s.Receive(Datagram(5000, 7, new byte[100]));
        Assert.That(socket.QueuedDatagrams, Is.EqualTo(4));
        Assert.That(socket.ReceiveBufferDrops, Is.EqualTo(6));
        Assert.That(s.Stack.Counters[DropReason.UdpReceiveBufferFull], Is.EqualTo(6));
        Take(socket);
        s.Receive(Datagram(5000, 7, new byte[100]));
        Assert.That(socket.QueuedDatagrams, Is.EqualTo(4), "reading makes room again");
    }

    [Test]
    public void A_sent_datagram_decodes_in_PacketDotNet_with_a_valid_checksum()
    {
        var (s, socket) = Bound(4444);
        var data = Frames.Pattern(300);
        Assert.That(s.Stack.Udp.Send(socket, data, new Endpoint(Frames.PeerIp, 5555), s.Now), Is.EqualTo(Errno.Ok));
        var packet = Packet.ParsePacket(LinkLayers.Ethernet, s.Sink.Single());
        var udp = packet.Extract<UdpPacket>();
        Assert.That(udp.ValidUdpChecksum, Is.True);
        Assert.That(udp.SourcePort, Is.EqualTo(4444));
        Assert.That(udp.DestinationPort, Is.EqualTo(5555));
        Assert.That(udp.PayloadData, Is.EqualTo(data));
    }

    [Test]
    public void Sending_binds_an_unbound_socket_to_an_ephemeral_port()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var socket = s.Stack.Udp.Open();
        Assert.That(s.Stack.Udp.Send(socket, [1], new Endpoint(Frames.PeerIp, 53), s.Now), Is.EqualTo(Errno.Ok));
        Assert.That(socket.IsBound, Is.True);
        Assert.That(socket.Local.Port, Is.InRange((ushort)49152, (ushort)65535));
    }

    [Test]
    public void Broadcast_needs_SO_BROADCAST()
    {
        var (s, socket) = Bound();
        var to = new Endpoint(Ipv4Address.Broadcast, 9);
        Assert.That(s.Stack.Udp.Send(socket, [1], to, s.Now), Is.EqualTo(Errno.EACCES));
        socket.Broadcast = true;
        Assert.That(s.Stack.Udp.Send(socket, [1], to, s.Now), Is.EqualTo(Errno.Ok));
    }

    [Test]
    public void Send_without_a_destination_is_refused_and_a_connected_socket_may_still_name_one()
    {
        var (s, socket) = Bound();
        Assert.That(s.Stack.Udp.Send(socket, [1], null, s.Now), Is.EqualTo(Errno.EDESTADDRREQ));
        s.Stack.Udp.Connect(socket, new Endpoint(Frames.PeerIp, 9));
        // Linux's udp_sendmsg: an address given to sendto wins over the connected one (no EISCONN for UDP).
        Assert.That(s.Stack.Udp.Send(socket, [1], new Endpoint(Frames.PeerIp, 10), s.Now), Is.EqualTo(Errno.Ok));
        Assert.That(s.Stack.Udp.Send(socket, [1], null, s.Now), Is.EqualTo(Errno.Ok));
    }

    [Test]
    public void Binding_an_address_that_is_not_ours_is_address_not_available()
    {
        var s = new StackUnderTest();
        var socket = s.Stack.Udp.Open();
        Assert.That(s.Stack.Udp.Bind(socket, new Endpoint(Ipv4Address.Parse("10.0.0.99"), 7)), Is.EqualTo(Errno.EADDRNOTAVAIL));
        Assert.That(s.Stack.Udp.Bind(socket, new Endpoint(Frames.StackIp, 7)), Is.EqualTo(Errno.Ok));
        Assert.That(s.Stack.Udp.Bind(socket, new Endpoint(Frames.StackIp, 8)), Is.EqualTo(Errno.EINVAL), "bound once");
    }

    [Test]
    public void A_connected_socket_only_hears_its_peer()
    {
        var (s, socket) = Bound(40000);
        s.Stack.Udp.Connect(socket, new Endpoint(Frames.PeerIp, 9));
        s.Receive(Datagram(10, 40000, [1]));
        Assert.That(socket.QueuedDatagrams, Is.Zero);
        s.Receive(Datagram(9, 40000, [2]));
        Assert.That(Take(socket).Data, Is.EqualTo(new byte[] { 2 }));
    }

    [Test]
    public void A_raw_icmp_socket_gets_a_copy_of_each_echo_request_with_its_ip_header()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var raw = s.Stack.Raw.Open(IpProtocol.Icmp);
        var frame = Frames.EchoRequest(1, 2, [7, 7]);
        s.Receive(frame);
        var buffer = new byte[2000];
        Assert.That(raw.TryReceive(buffer, false, out int n, out _, out var from), Is.EqualTo(Errno.Ok));
        Assert.That(buffer[..n], Is.EqualTo(frame.AsSpan(14).ToArray()));
        Assert.That(from.Address, Is.EqualTo(Frames.PeerIp));
        Assert.That(s.Sink.Frames, Has.Count.EqualTo(1), "the stack still answers the echo itself");
    }
}
