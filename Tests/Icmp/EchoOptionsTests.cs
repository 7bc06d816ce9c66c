using System.Buffers.Binary;
using PacketDotNet;
using UserStack.Tests.Support;
using UserStack.Wire;

namespace UserStack.Tests.Icmp;

/// <summary>RFC 1122 3.2.2.6: Record Route and Timestamp in an echo request come back updated in the reply (Linux ip_options_echo).</summary>
public class EchoOptionsTests
{
    private static byte[] EchoWithOptions(byte[] options)
    {
        var icmp = Frames.Icmp(IcmpType.EchoRequest, 9, 1, Frames.Pattern(16));
        var header = new Ipv4Repr(Frames.PeerIp, Frames.StackIp, IpProtocol.Icmp, icmp.Length, 64, 7);
        int headerLength = 20 + Ipv4Options.PaddedLength(options.Length);
        var frame = new byte[14 + headerLength + icmp.Length];
        new EthernetRepr(Frames.StackMac, Frames.PeerMac, EtherType.Ipv4).Write(frame);
        header.Write(frame.AsSpan(14), options);
        icmp.CopyTo(frame, 14 + headerLength);
        return frame;
    }

    private static (byte[] Options, byte[] Icmp) Reply(StackUnderTest s)
    {
        var frame = s.Sink.Frames.Single();
        var ip = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<IPv4Packet>();
        Assert.That(ip.ValidIPChecksum, Is.True, "PacketDotNet checks the header with its options");
        Assert.That(Ipv4Packet.TryRead(frame.AsSpan(14), out var reply, out var why), Is.True, why.ToString());
        Assert.That(IcmpPacket.TryRead(reply.Payload, out var icmp, out _), Is.True);
        Assert.That(icmp.Type, Is.EqualTo(IcmpType.EchoReply));
        Assert.That(icmp.Payload.ToArray(), Is.EqualTo(Frames.Pattern(16)));
        return (reply.Options.ToArray(), reply.Payload.ToArray());
    }

    [Test]
    public void Record_route_gets_our_address_in_the_next_slot()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        // RR with two slots, the first already holding the sender's address (as `ping -R` fills it).
        s.Receive(EchoWithOptions([7, 11, 8, 10, 0, 0, 1, 0, 0, 0, 0]));
        var (options, _) = Reply(s);
        Assert.That(options[..11], Is.EqualTo(new byte[] { 7, 11, 12, 10, 0, 0, 1, 10, 0, 0, 2 }));
    }

    [Test]
    public void A_full_record_route_comes_back_unchanged()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Receive(EchoWithOptions([7, 7, 8, 10, 0, 0, 1]));
        Assert.That(Reply(s).Options[..7], Is.EqualTo(new byte[] { 7, 7, 8, 10, 0, 0, 1 }));
    }

    [Test]
    public void Timestamp_only_gets_a_stamp_with_the_high_bit_set()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Receive(EchoWithOptions([68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        var options = Reply(s).Options;
        Assert.That(options[..4], Is.EqualTo(new byte[] { 68, 12, 9, 0 }));
        uint stamp = BinaryPrimitives.ReadUInt32BigEndian(options.AsSpan(4));
        Assert.That(stamp, Is.EqualTo(0x80000000u | (uint)s.Now.Milliseconds), "RFC 791: not milliseconds since midnight UT, so the high bit is set");
    }

    [Test]
    public void Timestamp_with_addresses_records_ours_and_a_full_one_counts_overflow()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Receive(EchoWithOptions([68, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
        var options = Reply(s).Options;
        Assert.That(options[..8], Is.EqualTo(new byte[] { 68, 12, 13, 1, 10, 0, 0, 2 }));
        s.Sink.Frames.Clear();
        s.Receive(EchoWithOptions([68, 4, 5, 0x10]));
        Assert.That(Reply(s).Options[..4], Is.EqualTo(new byte[] { 68, 4, 5, 0x20 }), "no room: overflow goes from 1 to 2");
    }

    [Test]
    public void Other_options_are_not_reflected()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        s.Receive(EchoWithOptions([0x94, 4, 0, 0])); // Router Alert (RFC 2113)
        Assert.That(Reply(s).Options, Is.Empty);
    }
}
