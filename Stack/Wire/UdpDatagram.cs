using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>A UDP datagram (RFC 768): ports, length, checksum over the pseudo-header, data.</summary>
public readonly ref struct UdpDatagram
{
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> bytes;
    private UdpDatagram(ReadOnlySpan<byte> bytes) => this.bytes = bytes;

    /// <summary>
    /// Checks the length field and, unless it is zero ("no checksum", RFC 768), the checksum.
    /// Bytes past the length field are cut off.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, Ipv4Address source, Ipv4Address destination, out UdpDatagram datagram, out DropReason why, bool checksumTrusted = false)
    {
        datagram = default;
        if (bytes.Length < HeaderLength) { why = DropReason.UdpTruncated; return false; }
        int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]);
        if (length < HeaderLength || length > bytes.Length) { why = DropReason.UdpBadLength; return false; }
        bytes = bytes[..length];
        if (!checksumTrusted && BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]) != 0)
        {
            ulong sum = InternetChecksum.AddPseudoHeader(0, source, destination, IpProtocol.Udp, length);
            if (InternetChecksum.Finish(InternetChecksum.Add(sum, bytes)) != 0) { why = DropReason.UdpBadChecksum; return false; }
        }
        datagram = new UdpDatagram(bytes);
        why = DropReason.None;
        return true;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(bytes);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
    public int Length => BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]);
    public ReadOnlySpan<byte> Payload => bytes[HeaderLength..];

    public UdpRepr ToRepr() => new(SourcePort, DestinationPort, Payload.Length);
}

/// <summary>The UDP header as plain values.</summary>
public readonly record struct UdpRepr(ushort SourcePort, ushort DestinationPort, int PayloadLength)
{
    public const int HeaderLength = UdpDatagram.HeaderLength;
    public int Length => HeaderLength + PayloadLength;

    /// <summary>Writes the header of a datagram whose payload already sits at offset 8, with its checksum.</summary>
    public void Write(Span<byte> datagram, Ipv4Address source, Ipv4Address destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(datagram, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[2..], DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[4..], (ushort)Length);
        datagram[6] = 0;
        datagram[7] = 0;
        ulong sum = InternetChecksum.AddPseudoHeader(0, source, destination, IpProtocol.Udp, Length);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(sum, datagram[..Length]));
        // A computed zero is sent as all ones; zero means "no checksum" (RFC 768).
        BinaryPrimitives.WriteUInt16BigEndian(datagram[6..], checksum == 0 ? (ushort)0xFFFF : checksum);
    }
}
