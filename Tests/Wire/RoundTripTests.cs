using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using UserStack.Wire;
using ArpOperation = UserStack.Wire.ArpOperation;

namespace UserStack.Tests.Wire;

/// <summary>Every header we write reads back equal, and PacketDotNet, an independent decoder, agrees with valid checksums.</summary>
public class RoundTripTests
{
    private static readonly MacAddress A = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress B = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address IpA = Ipv4Address.Parse("192.0.2.10");
    private static readonly Ipv4Address IpB = Ipv4Address.Parse("192.0.2.20");

    [Test]
    public void Ethernet_header_round_trips_and_decodes_in_PacketDotNet()
    {
        var repr = new EthernetRepr(A, B, EtherType.Ipv4);
        var frame = new byte[60];
        repr.Write(frame);
        Assert.That(EthernetFrame.TryRead(frame, out var view, out _), Is.True);
        Assert.That(view.ToRepr(), Is.EqualTo(repr));

        var decoded = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);
        Assert.That(decoded.DestinationHardwareAddress, Is.EqualTo(PhysicalAddress.Parse("02-00-00-00-00-0A")));
        Assert.That(decoded.SourceHardwareAddress, Is.EqualTo(PhysicalAddress.Parse("02-00-00-00-00-0B")));
        Assert.That(decoded.Type, Is.EqualTo(EthernetType.IPv4));
    }

    [Test]
    public void Arp_round_trips_and_decodes_in_PacketDotNet()
    {
        var repr = new ArpRepr(ArpOperation.Reply, A, IpA, B, IpB);
        var frame = new byte[60];
        new EthernetRepr(B, A, EtherType.Arp).Write(frame);
        repr.Write(frame.AsSpan(14));
        Assert.That(UserStack.Wire.ArpPacket.TryRead(frame.AsSpan(14), out var view, out _), Is.True);
        Assert.That(view.ToRepr(), Is.EqualTo(repr));

        var arp = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<PacketDotNet.ArpPacket>();
        Assert.That(arp.Operation, Is.EqualTo(PacketDotNet.ArpOperation.Response));
        Assert.That(arp.SenderProtocolAddress, Is.EqualTo(IPAddress.Parse("192.0.2.10")));
        Assert.That(arp.TargetProtocolAddress, Is.EqualTo(IPAddress.Parse("192.0.2.20")));
        Assert.That(arp.SenderHardwareAddress, Is.EqualTo(PhysicalAddress.Parse("02-00-00-00-00-0A")));
    }

    [Test]
    public void Ipv4_and_icmp_echo_round_trip_and_decode_with_valid_checksums()
    {
        var data = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        var icmp = IcmpRepr.Echo(IcmpType.EchoRequest, 0x1234, 42, data.Length);
        var ip = new Ipv4Repr(IpA, IpB, IpProtocol.Icmp, icmp.Length, 64, 777, Ipv4Flags.DontFragment);
        var frame = new byte[14 + ip.TotalLength];
        new EthernetRepr(B, A, EtherType.Ipv4).Write(frame);
        ip.Write(frame.AsSpan(14));
        data.CopyTo(frame.AsSpan(14 + 20 + 8));
        icmp.Write(frame.AsSpan(34));

        Assert.That(Ipv4Packet.TryRead(frame.AsSpan(14), out var ipView, out var why), Is.True, why.ToString());
        Assert.That(ipView.ToRepr(), Is.EqualTo(ip));
        Assert.That(IcmpPacket.TryRead(ipView.Payload, out var icmpView, out why), Is.True, why.ToString());
        Assert.That(icmpView.ToRepr(), Is.EqualTo(icmp));
        Assert.That(icmpView.Payload.ToArray(), Is.EqualTo(data));

        var packet = Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ipv4 = packet.Extract<IPv4Packet>();
        Assert.That(ipv4.ValidIPChecksum, Is.True);
        Assert.That(ipv4.Id, Is.EqualTo(777));
        Assert.That(ipv4.TimeToLive, Is.EqualTo(64));
        Assert.That(ipv4.FragmentFlags & 0x2, Is.EqualTo(0x2), "DF");
        var echo = packet.Extract<IcmpV4Packet>();
        Assert.That(echo.ValidIcmpChecksum, Is.True);
        Assert.That(echo.TypeCode, Is.EqualTo(IcmpV4TypeCode.EchoRequest));
        Assert.That(echo.Id, Is.EqualTo(0x1234));
        Assert.That(echo.Sequence, Is.EqualTo(42));
        Assert.That(echo.Data, Is.EqualTo(data));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(1472)]
    public void Udp_round_trips_and_decodes_with_a_valid_checksum(int size)
    {
        var data = Enumerable.Range(0, size).Select(i => (byte)(i * 3)).ToArray();
        // Not port 7 or 9: PacketDotNet 1.4.8 tries Wake-on-LAN there and throws on short payloads.
        var udp = new UdpRepr(5353, 7777, size);
        var ip = new Ipv4Repr(IpA, IpB, IpProtocol.Udp, udp.Length, 64, 1);
        var frame = new byte[14 + ip.TotalLength];
        new EthernetRepr(B, A, EtherType.Ipv4).Write(frame);
        ip.Write(frame.AsSpan(14));
        data.CopyTo(frame.AsSpan(14 + 20 + 8));
        udp.Write(frame.AsSpan(34), IpA, IpB);

        Assert.That(UdpDatagram.TryRead(frame.AsSpan(34), IpA, IpB, out var view, out var why), Is.True, why.ToString());
        Assert.That(view.ToRepr(), Is.EqualTo(udp));
        Assert.That(view.Payload.ToArray(), Is.EqualTo(data));

        var decoded = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<UdpPacket>();
        Assert.That(decoded.ValidUdpChecksum, Is.True);
        Assert.That(decoded.SourcePort, Is.EqualTo(5353));
        Assert.That(decoded.DestinationPort, Is.EqualTo(7777));
        Assert.That(decoded.PayloadData ?? [], Is.EqualTo(data));
    }

    [Rfc(9293, "MUST-2")]
    [Test]
    public void Tcp_with_every_option_round_trips_and_decodes_with_a_valid_checksum()
    {
        var options = new TcpOptionsRepr(MaximumSegmentSize: 1460, WindowScale: 7, SackPermitted: true, Timestamps: (123456u, 654321u));
        var tcp = new TcpRepr(40000, 80, new SeqNumber(0xFFFF_FF00), new SeqNumber(17), TcpFlags.Syn | TcpFlags.Ack, 65535, 0, options, 5);
        var ip = new Ipv4Repr(IpA, IpB, IpProtocol.Tcp, tcp.Length, 64, 9);
        var frame = new byte[14 + ip.TotalLength];
        new EthernetRepr(B, A, EtherType.Ipv4).Write(frame);
        ip.Write(frame.AsSpan(14));
        "hello"u8.CopyTo(frame.AsSpan(34 + tcp.HeaderLength));
        tcp.Write(frame.AsSpan(34), IpA, IpB);

        Assert.That(TcpSegment.TryRead(frame.AsSpan(34), IpA, IpB, out var view, out var why), Is.True, why.ToString());
        Assert.That(view.ToRepr(), Is.EqualTo(tcp));
        Assert.That(view.Payload.ToArray(), Is.EqualTo("hello"u8.ToArray()));

        var decoded = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<TcpPacket>();
        Assert.That(decoded.ValidTcpChecksum, Is.True);
        Assert.That(decoded.SequenceNumber, Is.EqualTo(0xFFFF_FF00u));
        Assert.That(decoded.Synchronize && decoded.Acknowledgment, Is.True);
        Assert.That(decoded.DataOffset * 4, Is.EqualTo(tcp.HeaderLength));
        var kinds = decoded.OptionsCollection.Select(o => (int)o.Kind).ToArray();
        Assert.That(kinds, Does.Contain(2).And.Contain(3).And.Contain(4).And.Contain(8));
    }

    [Test]
    public void Tcp_sack_blocks_round_trip()
    {
        var sack = default(SackBlocks).With(new(new SeqNumber(100), new SeqNumber(200))).With(new(new SeqNumber(300), new SeqNumber(400)));
        var options = new TcpOptionsRepr(Sack: sack, Timestamps: (1u, 2u));
        var bytes = new byte[options.Length];
        Assert.That(options.Write(bytes), Is.EqualTo(bytes.Length));
        Assert.That(bytes.Length % 4, Is.Zero);
        Assert.That(TcpOptionsRepr.TryParse(bytes, out var parsed, out _), Is.True);
        Assert.That(parsed, Is.EqualTo(options));
    }

    [Rfc(9293, "MUST-50")]
    [Test]
    public void Ipv4_options_are_parsed_and_skipped()
    {
        // A header with IHL 6 carrying NOP NOP NOP EOL: payload starts after the options.
        var frame = Support.Frames.EchoRequest(1, 1, [9, 9]);
        var ip = frame.AsSpan(14);
        var withOptions = new byte[ip.Length + 4];
        ip[..20].CopyTo(withOptions);
        withOptions[20] = 1; withOptions[21] = 1; withOptions[22] = 1; withOptions[23] = 0;
        ip[20..].CopyTo(withOptions.AsSpan(24));
        withOptions[0] = 0x46;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(withOptions.AsSpan(2), (ushort)withOptions.Length);
        withOptions[10] = withOptions[11] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(withOptions.AsSpan(10), InternetChecksum.Compute(withOptions.AsSpan(0, 24)));

        Assert.That(Ipv4Packet.TryRead(withOptions, out var view, out var why), Is.True, why.ToString());
        Assert.That(view.HeaderLength, Is.EqualTo(24));
        Assert.That(view.Options.Length, Is.EqualTo(4));
        Assert.That(IcmpPacket.TryRead(view.Payload, out var icmp, out _), Is.True);
        Assert.That(icmp.Payload.ToArray(), Is.EqualTo(new byte[] { 9, 9 }));
    }
}
