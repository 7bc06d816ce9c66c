using UserStack.Wire;

namespace UserStack.Drill;

/// <summary>The frames the runner puts on the stack's wire: ARP from the gateway and IPv4 from the remote host behind it.</summary>
internal static class Frames
{
    public static byte[] Arp(ArpOperation op, MacAddress senderMac, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp, MacAddress stackMac)
    {
        var frame = new byte[EthernetFrame.MinimumLength];
        new EthernetRepr(op == ArpOperation.Request ? MacAddress.Broadcast : stackMac, senderMac, EtherType.Arp).Write(frame);
        new ArpRepr(op, senderMac, senderIp, targetMac, targetIp).Write(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }

    /// <summary>Ethernet + IPv4 around <paramref name="payload"/>, from the gateway's MAC.</summary>
    public static byte[] Ipv4(Ipv4Repr header, ReadOnlySpan<byte> payload, MacAddress from, MacAddress to)
    {
        var frame = new byte[EthernetFrame.HeaderLength + header.TotalLength];
        new EthernetRepr(to, from, EtherType.Ipv4).Write(frame);
        header.Write(frame.AsSpan(EthernetFrame.HeaderLength));
        payload.CopyTo(frame.AsSpan(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength));
        return frame;
    }
}
