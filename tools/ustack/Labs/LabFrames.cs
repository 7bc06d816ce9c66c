using UserStack.Wire;

namespace UserStack.Tools.Labs;

/// <summary>Reads and builds the frames labs script: which TCP segment a frame carries, and forged segments and ARP packets.</summary>
public static class LabFrames
{
    /// <summary>The TCP header of an Ethernet frame's IPv4 segment, if it is one (checksums are not checked: the lab's own frames).</summary>
    public static bool TryTcp(ReadOnlySpan<byte> frame, out TcpFlags flags, out int payloadLength)
    {
        flags = default; payloadLength = 0;
        if (frame.Length < EthernetFrame.HeaderLength + 40 || frame[12] != 0x08 || frame[13] != 0x00) return false;
        var ip = frame[EthernetFrame.HeaderLength..];
        if (ip[9] != (byte)IpProtocol.Tcp || (ip[6] & 0x3F) != 0 || ip[7] != 0) return false; // fragments are not segments
        int ihl = (ip[0] & 0xF) * 4, total = (ip[2] << 8) | ip[3];
        var tcp = ip[ihl..total];
        flags = (TcpFlags)tcp[13];
        payloadLength = tcp.Length - (tcp[12] >> 4) * 4;
        return true;
    }

    /// <summary>Sequence and acknowledgment numbers (absolute) and window of a frame's TCP segment.</summary>
    public static bool TryNumbers(ReadOnlySpan<byte> frame, out uint seq, out uint ack, out ushort window)
    {
        seq = ack = 0; window = 0;
        if (!TryTcp(frame, out _, out _)) return false;
        var tcp = frame[(EthernetFrame.HeaderLength + (frame[EthernetFrame.HeaderLength] & 0xF) * 4)..];
        seq = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        ack = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]);
        window = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(tcp[14..]);
        return true;
    }

    public static bool IsTcpData(ReadOnlyMemory<byte> frame) => TryTcp(frame.Span, out _, out int n) && n > 0;

    public static bool IsArp(ReadOnlyMemory<byte> frame) => frame.Length >= 14 && frame.Span[12] == 0x08 && frame.Span[13] == 0x06;

    /// <summary>A drop rule losing the data segments whose 1-based numbers (counted in the order the host sends data) are listed.</summary>
    public static Func<ReadOnlyMemory<byte>, bool> DropDataSegments(params int[] numbers)
    {
        int count = 0;
        return frame => IsTcpData(frame) && numbers.Contains(++count);
    }

    /// <summary>A TCP segment from <paramref name="from"/> to <paramref name="to"/> in an Ethernet frame, with checksums.</summary>
    public static byte[] Tcp(MacAddress fromMac, Ipv4Address from, MacAddress toMac, Ipv4Address to, TcpRepr tcp)
    {
        var ip = new Ipv4Repr(from, to, IpProtocol.Tcp, tcp.Length, Identification: 4242);
        var frame = new byte[EthernetFrame.HeaderLength + ip.TotalLength];
        new EthernetRepr(toMac, fromMac, EtherType.Ipv4).Write(frame);
        ip.Write(frame.AsSpan(EthernetFrame.HeaderLength));
        tcp.Write(frame.AsSpan(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength), from, to);
        return frame;
    }

    public static byte[] ArpRequest(MacAddress fromMac, Ipv4Address from, Ipv4Address target)
    {
        var frame = new byte[EthernetFrame.MinimumLength];
        new EthernetRepr(MacAddress.Broadcast, fromMac, EtherType.Arp).Write(frame);
        new ArpRepr(ArpOperation.Request, fromMac, from, MacAddress.Zero, target).Write(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }
}
