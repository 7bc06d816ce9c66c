using UserStack.Wire;

namespace UserStack.Tests.Support;

/// <summary>Builds the frames a peer would send, with our own writers (PacketDotNet referees elsewhere).</summary>
public static class Frames
{
    public static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:00:01");
    public static readonly MacAddress StackMac = MacAddress.Parse("02:00:00:00:00:02");
    public static readonly Ipv4Address PeerIp = Ipv4Address.Parse("10.0.0.1");
    public static readonly Ipv4Address StackIp = Ipv4Address.Parse("10.0.0.2");

    public static StackOptions Options(int mtu = 1500) => new()
    {
        HardwareAddress = StackMac,
        Address = new Ipv4Cidr(StackIp, 24),
        Gateway = Ipv4Address.Parse("10.0.0.254"),
        Mtu = mtu,
        InitialIdentification = 1000,
    };

    public static byte[] Arp(ArpOperation op, MacAddress senderMac, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp, MacAddress? ethernetDestination = null)
    {
        var frame = new byte[EthernetFrame.MinimumLength];
        new EthernetRepr(ethernetDestination ?? (op == ArpOperation.Request ? MacAddress.Broadcast : targetMac), senderMac, EtherType.Arp).Write(frame);
        new ArpRepr(op, senderMac, senderIp, targetMac, targetIp).Write(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }

    public static byte[] ArpRequestForStack(MacAddress? from = null, Ipv4Address? fromIp = null) =>
        Arp(ArpOperation.Request, from ?? PeerMac, fromIp ?? PeerIp, MacAddress.Zero, StackIp);

    /// <summary>An Ethernet + IPv4 frame around <paramref name="payload"/>.</summary>
    public static byte[] Ipv4(IpProtocol protocol, ReadOnlySpan<byte> payload, Ipv4Address? source = null, Ipv4Address? destination = null, MacAddress? ethernetDestination = null, byte ttl = 64, ushort id = 7)
    {
        var header = new Ipv4Repr(source ?? PeerIp, destination ?? StackIp, protocol, payload.Length, ttl, id);
        var frame = new byte[EthernetFrame.HeaderLength + header.TotalLength];
        new EthernetRepr(ethernetDestination ?? StackMac, PeerMac, EtherType.Ipv4).Write(frame);
        header.Write(frame.AsSpan(EthernetFrame.HeaderLength));
        payload.CopyTo(frame.AsSpan(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength));
        return frame;
    }

    public static byte[] Icmp(IcmpType type, ushort identifier, ushort sequence, ReadOnlySpan<byte> data, byte code = 0)
    {
        var message = new byte[IcmpPacket.HeaderLength + data.Length];
        data.CopyTo(message.AsSpan(IcmpPacket.HeaderLength));
        new IcmpRepr(type, code, (uint)identifier << 16 | sequence, data.Length).Write(message);
        return message;
    }

    public static byte[] EchoRequest(ushort identifier, ushort sequence, ReadOnlySpan<byte> data, Ipv4Address? destination = null, MacAddress? ethernetDestination = null) =>
        Ipv4(IpProtocol.Icmp, Icmp(IcmpType.EchoRequest, identifier, sequence, data), destination: destination, ethernetDestination: ethernetDestination);

    public static byte[] Pattern(int length, int seed = 0)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++) data[i] = (byte)(i * 7 + seed);
        return data;
    }
}
