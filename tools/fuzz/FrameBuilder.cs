using System.Buffers.Binary;
using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>Ethernet + IPv4 frames from the peer (10.0.0.1) to the stack (10.0.0.2), and checksum fix-ups.</summary>
public static class FrameBuilder
{
    public static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:00:01");
    public static readonly MacAddress StackMac = MacAddress.Parse("02:00:00:00:00:02");
    public static readonly Ipv4Address PeerIp = Ipv4Address.Parse("10.0.0.1");
    public static readonly Ipv4Address StackIp = Ipv4Address.Parse("10.0.0.2");
    public const int IpOffset = EthernetFrame.HeaderLength;
    public const int TcpOffset = IpOffset + Ipv4Repr.HeaderLength;

    public static byte[] Ipv4(IpProtocol protocol, ReadOnlySpan<byte> payload, ushort id = 1)
    {
        var header = new Ipv4Repr(PeerIp, StackIp, protocol, payload.Length, 64, id);
        var frame = new byte[IpOffset + header.TotalLength];
        new EthernetRepr(StackMac, PeerMac, EtherType.Ipv4).Write(frame);
        header.Write(frame.AsSpan(IpOffset));
        payload.CopyTo(frame.AsSpan(TcpOffset));
        return frame;
    }

    public static byte[] Tcp(in TcpRepr repr, ReadOnlySpan<byte> payload)
    {
        var segment = new byte[repr.Length];
        payload[..repr.PayloadLength].CopyTo(segment.AsSpan(repr.HeaderLength));
        repr.Write(segment, PeerIp, StackIp);
        return Ipv4(IpProtocol.Tcp, segment);
    }

    public static byte[] ArpReply(MacAddress targetMac, Ipv4Address targetIp)
    {
        var frame = new byte[EthernetFrame.MinimumLength];
        new EthernetRepr(targetMac, PeerMac, EtherType.Arp).Write(frame);
        new ArpRepr(ArpOperation.Reply, PeerMac, PeerIp, targetMac, targetIp).Write(frame.AsSpan(IpOffset));
        return frame;
    }

    /// <summary>Recomputes the TCP checksum of a frame that carries an IPv4 header of 20 bytes (what the peer builds).</summary>
    public static void FixTcpChecksum(Span<byte> frame)
    {
        if (frame.Length < TcpOffset + TcpSegment.MinimumHeaderLength) return;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(frame[(IpOffset + 2)..]);
        int tcpLength = Math.Min(totalLength, frame.Length - IpOffset) - Ipv4Repr.HeaderLength;
        if (tcpLength < TcpSegment.MinimumHeaderLength) return;
        var tcp = frame.Slice(TcpOffset, tcpLength);
        tcp[16] = tcp[17] = 0;
        ulong sum = InternetChecksum.AddPseudoHeader(0, PeerIp, StackIp, IpProtocol.Tcp, tcpLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Finish(InternetChecksum.Add(sum, tcp)));
    }

    /// <summary>Recomputes the IPv4 header checksum (20-byte header).</summary>
    public static void FixIpChecksum(Span<byte> frame)
    {
        if (frame.Length < TcpOffset) return;
        var ip = frame.Slice(IpOffset, Ipv4Repr.HeaderLength);
        ip[10] = ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip));
    }

    /// <summary>
    /// The frame with 8 arbitrary option bytes (taken from the action's option fields) after the
    /// options it has, the data offset, lengths and checksums fixed: malformed and unknown options.
    /// </summary>
    public static byte[] WithRawOptions(byte[] frame, SegmentAction s)
    {
        int headerLength = (frame[TcpOffset + 12] >> 4) * 4;
        if (headerLength + 8 > 60) return frame;
        Span<byte> raw = stackalloc byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(raw, s.Mss);
        raw[2] = s.WindowScale;
        BinaryPrimitives.WriteUInt32BigEndian(raw[3..], s.TsDelta);
        raw[7] = s.SackCount;
        var result = new byte[frame.Length + 8];
        frame.AsSpan(0, TcpOffset + headerLength).CopyTo(result);
        raw.CopyTo(result.AsSpan(TcpOffset + headerLength));
        frame.AsSpan(TcpOffset + headerLength).CopyTo(result.AsSpan(TcpOffset + headerLength + 8));
        result[TcpOffset + 12] = (byte)(((headerLength + 8) / 4) << 4 | (frame[TcpOffset + 12] & 0x0F));
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(IpOffset + 2), (ushort)(result.Length - IpOffset));
        FixIpChecksum(result);
        FixTcpChecksum(result);
        return result;
    }
}
