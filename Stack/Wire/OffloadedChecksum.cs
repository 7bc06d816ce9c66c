using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>
/// Checksum offload leaves a frame's TCP or UDP checksum undone (the kernel's CHECKSUM_PARTIAL: only
/// the pseudo-header sum is in the field). The stack never needs it, but a trace or a capture shown to
/// a learner should not say "bad checksum" for it: this fills it in, in a copy made for them.
/// </summary>
public static class OffloadedChecksum
{
    /// <summary>Writes the real TCP or UDP checksum into an Ethernet frame carrying a whole IPv4 datagram; anything else is left as it is.</summary>
    public static void Complete(Span<byte> frame)
    {
        const int ip = EthernetFrame.HeaderLength;
        if (frame.Length < ip + Ipv4Packet.MinimumHeaderLength || frame[12] != 0x08 || frame[13] != 0x00 || frame[ip] >> 4 != 4) return;
        int headerLength = (frame[ip] & 0x0F) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(frame[(ip + 2)..]);
        bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(frame[(ip + 6)..]) & 0x3FFF) != 0;
        if (fragment || headerLength < Ipv4Packet.MinimumHeaderLength || total < headerLength || ip + total > frame.Length) return;
        var protocol = (IpProtocol)frame[ip + 9];
        var transport = frame.Slice(ip + headerLength, total - headerLength);
        int field = protocol switch { IpProtocol.Tcp when transport.Length >= 20 => 16, IpProtocol.Udp when transport.Length >= 8 => 6, _ => -1 };
        if (field < 0) return;
        transport[field] = transport[field + 1] = 0;
        ulong sum = InternetChecksum.AddPseudoHeader(0, Ipv4Address.Read(frame[(ip + 12)..]), Ipv4Address.Read(frame[(ip + 16)..]), protocol, transport.Length);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(sum, transport));
        if (protocol == IpProtocol.Udp && checksum == 0) checksum = 0xFFFF; // RFC 768: 0 means "no checksum"
        BinaryPrimitives.WriteUInt16BigEndian(transport[field..], checksum);
    }
}
