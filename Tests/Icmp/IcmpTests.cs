using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using UserStack.Diagnostics;
using UserStack.Tests.Support;
using UserStack.Wire;
using ArpOperation = UserStack.Wire.ArpOperation;

namespace UserStack.Tests.Icmp;

/// <summary>ICMP (RFC 792, RFC 1122 3.2.2) on the virtual clock.</summary>
public class IcmpTests
{
    private static (Ipv4Repr Ip, IcmpRepr Icmp, byte[] Data, MacAddress To) ReadEchoReply(byte[] frame)
    {
        Assert.That(EthernetFrame.TryRead(frame, out var e, out _), Is.True);
        Assert.That(Ipv4Packet.TryRead(e.Payload, out var ip, out var why), Is.True, why.ToString());
        Assert.That(IcmpPacket.TryRead(ip.Payload, out var icmp, out why), Is.True, why.ToString());
        return (ip.ToRepr(), icmp.ToRepr(), icmp.Payload.ToArray(), e.Destination);
    }

    private static byte[] IpPayload(byte[] frame)
    {
        Assert.That(Ipv4Packet.TryRead(frame.AsSpan(EthernetFrame.HeaderLength), out var ip, out var why), Is.True, why.ToString());
        return ip.Payload.ToArray();
    }

    [TestCase(1500, 0)]
    [TestCase(1500, 1)]
    [TestCase(1500, 56)]
    [TestCase(1500, 1471)]
    [TestCase(1500, 1472)]
    [TestCase(9000, 8972)]
    [TestCase(576, 548)]
    public void An_echo_request_of_any_size_up_to_the_mtu_is_answered_with_the_same_identifier_sequence_and_data(int mtu, int size)
    {
        var s = new StackUnderTest(Frames.Options(mtu));
        s.LearnPeer();
        var data = Frames.Pattern(size, seed: size);
        s.Receive(Frames.EchoRequest(0xBEEF, 7, data));

        var (ip, icmp, echoed, to) = ReadEchoReply(s.Sink.Single());
        Assert.That(to, Is.EqualTo(Frames.PeerMac));
        Assert.That(ip.Source, Is.EqualTo(Frames.StackIp), "from the address that was pinged");
        Assert.That(ip.Destination, Is.EqualTo(Frames.PeerIp));
        Assert.That(ip.TimeToLive, Is.EqualTo(64));
        Assert.That(icmp.Type, Is.EqualTo(IcmpType.EchoReply));
        Assert.That(icmp.Identifier, Is.EqualTo(0xBEEF));
        Assert.That(icmp.SequenceNumber, Is.EqualTo(7));
        Assert.That(echoed, Is.EqualTo(data));
    }

    [Test]
    public void A_request_built_by_PacketDotNet_is_answered_and_PacketDotNet_accepts_the_reply()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var data = Frames.Pattern(200);
        var icmp = new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment(new byte[8 + data.Length]))
        {
            TypeCode = IcmpV4TypeCode.EchoRequest, Id = 4242, Sequence = 9, Data = data,
        };
        icmp.UpdateIcmpChecksum();
        var ip = new IPv4Packet(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2")) { PayloadPacket = icmp, TimeToLive = 64 };
        ip.UpdateIPChecksum();
        var eth = new EthernetPacket(PhysicalAddress.Parse("02-00-00-00-00-01"), PhysicalAddress.Parse("02-00-00-00-00-02"), EthernetType.IPv4) { PayloadPacket = ip };
        s.Receive(eth.Bytes);

        var reply = Packet.ParsePacket(LinkLayers.Ethernet, s.Sink.Single());
        var replyIp = reply.Extract<IPv4Packet>();
        var replyIcmp = reply.Extract<IcmpV4Packet>();
        Assert.That(replyIp.ValidIPChecksum, Is.True);
        Assert.That(replyIcmp.ValidIcmpChecksum, Is.True);
        Assert.That(replyIcmp.TypeCode, Is.EqualTo(IcmpV4TypeCode.EchoReply));
        Assert.That(replyIcmp.Id, Is.EqualTo(4242));
        Assert.That(replyIcmp.Sequence, Is.EqualTo(9));
        Assert.That(replyIcmp.Data, Is.EqualTo(data));
        Assert.That(replyIp.SourceAddress, Is.EqualTo(IPAddress.Parse("10.0.0.2")));
    }

    [Test]
    public void Every_datagram_gets_its_own_identification()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        for (ushort i = 0; i < 3; i++) s.Receive(Frames.EchoRequest(1, i, []));
        var ids = s.Sink.TakeAll().Select(f => ReadEchoReply(f).Ip.Identification).ToArray();
        Assert.That(ids, Is.Unique);
    }

    [Test]
    public void Frames_shorter_than_60_bytes_are_padded_and_the_padding_is_not_echoed()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var frame = Frames.EchoRequest(1, 1, [1, 2]);
        var padded = new byte[60];
        frame.CopyTo(padded, 0);
        padded.AsSpan(frame.Length).Fill(0xEE);
        s.Receive(padded);
        var reply = s.Sink.Single();
        Assert.That(reply.Length, Is.EqualTo(60));
        Assert.That(ReadEchoReply(reply).Data, Is.EqualTo(new byte[] { 1, 2 }));
    }

    [Test]
    public void A_reply_that_exceeds_our_mtu_is_fragmented_without_df_as_linux_icmp_replies()
    {
        var s = new StackUnderTest(Frames.Options(576));
        s.LearnPeer();
        var data = Frames.Pattern(1000, seed: 3);
        s.Receive(Frames.EchoRequest(1, 1, data));
        Assert.That(s.Sink.Frames, Has.Count.EqualTo(2), "1,028 bytes of ICMP in 552 + 476");
        var ips = s.Sink.Frames.Select(f => Packet.ParsePacket(LinkLayers.Ethernet, f).Extract<IPv4Packet>()).ToList();
        Assert.That(ips.Select(ip => ip.FragmentOffset * 8), Is.EqualTo(new[] { 0, 552 }));
        Assert.That(ips.Select(ip => ip.FragmentFlags), Is.EqualTo(new[] { 1, 0 }), "MF on the first only, no DF");
        Assert.That(ips.All(ip => ip.ValidIPChecksum && ip.Id == ips[0].Id), Is.True);
        var icmp = s.Sink.Frames.SelectMany(IpPayload).ToArray();
        Assert.That(icmp[0], Is.EqualTo(0), "echo reply");
        Assert.That(icmp[8..], Is.EqualTo(data));
    }

    [Test]
    public void Echo_replies_and_errors_addressed_to_us_are_counted_not_answered()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Receive(Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.EchoReply, 1, 1, [])));
        s.Receive(Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.DestinationUnreachable, 0, 0, new byte[28], code: 3)));
        Assert.That(s.Sink.Frames, Is.Empty);
        Assert.That(s.Stack.Counters[Counter.IcmpEchoRepliesReceived], Is.EqualTo(1));
        Assert.That(s.Stack.Counters[Counter.IcmpOtherReceived], Is.EqualTo(1));
    }

    [Test]
    public void An_unknown_protocol_gets_protocol_unreachable_quoting_the_datagram()
    {
        // RFC 1122 3.2.2.1: a host SHOULD generate Destination Unreachable, code 2.
        var s = new StackUnderTest();
        s.LearnPeer();
        var original = Frames.Ipv4((IpProtocol)99, Frames.Pattern(16));
        s.Receive(original);
        var (ip, icmp, data, _) = ReadEchoReply(s.Sink.Single());
        Assert.That(ip.Destination, Is.EqualTo(Frames.PeerIp));
        Assert.That(icmp.Type, Is.EqualTo(IcmpType.DestinationUnreachable));
        Assert.That(icmp.Code, Is.EqualTo(2));
        Assert.That(data, Is.EqualTo(original.AsSpan(14).ToArray()), "the original header and data");
        Assert.That(s.Stack.Counters[DropReason.Ipv4UnknownProtocol], Is.EqualTo(1));
    }

    [Test]
    public void No_error_is_sent_about_a_broadcast_datagram()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Receive(Frames.Ipv4((IpProtocol)99, [1], destination: Ipv4Address.Broadcast, ethernetDestination: MacAddress.Broadcast));
        Assert.That(s.Sink.Frames, Is.Empty, "RFC 1122 3.2.2: never an error about a broadcast");
        Assert.That(s.Stack.Counters[DropReason.Ipv4UnknownProtocol], Is.EqualTo(1));
    }

    [Test]
    public void Icmp_errors_are_rate_limited_and_the_budget_refills_with_time()
    {
        var s = new StackUnderTest(Frames.Options() with { IcmpErrorBurst = 5, IcmpErrorsPerSecond = 10 });
        s.LearnPeer();
        for (int i = 0; i < 20; i++) s.Receive(Frames.Ipv4((IpProtocol)99, [1]));
        Assert.That(s.Sink.TakeAll(), Has.Count.EqualTo(5), "the burst");
        s.Advance(TimeSpan.FromMilliseconds(300));
        for (int i = 0; i < 20; i++) s.Receive(Frames.Ipv4((IpProtocol)99, [1]));
        Assert.That(s.Sink.TakeAll(), Has.Count.EqualTo(3), "10 per second for 0.3 s");
        Assert.That(s.Stack.Counters[DropReason.Ipv4UnknownProtocol], Is.EqualTo(40), "every datagram counted");
    }

    [Test]
    public void Echo_answers_an_unknown_peer_after_resolving_it()
    {
        var s = new StackUnderTest();
        s.Receive(Frames.EchoRequest(5, 6, [1, 2, 3])); // no ARP from the peer first
        var request = CapturingSink.ReadArp(s.Sink.Single());
        Assert.That(request.TargetProtocolAddress, Is.EqualTo(Frames.PeerIp));
        s.Receive(Frames.Arp(ArpOperation.Reply, Frames.PeerMac, Frames.PeerIp, Frames.StackMac, Frames.StackIp));
        var (_, icmp, data, to) = ReadEchoReply(s.Sink.Single());
        Assert.That(to, Is.EqualTo(Frames.PeerMac));
        Assert.That(icmp.SequenceNumber, Is.EqualTo(6));
        Assert.That(data, Is.EqualTo(new byte[] { 1, 2, 3 }));
    }
}
