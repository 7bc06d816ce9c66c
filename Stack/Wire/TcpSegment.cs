using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>TCP control bits (RFC 9293 3.1, RFC 3168 for ECE/CWR).</summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
    Ece = 0x40,
    Cwr = 0x80,
}

/// <summary>RFC 9293 3.1: the bytes of one TCP segment, checked once, read in place.</summary>
public readonly ref struct TcpSegment
{
    public const int MinimumHeaderLength = 20;

    private readonly ReadOnlySpan<byte> bytes;
    private readonly TcpOptionsRepr options;

    private TcpSegment(ReadOnlySpan<byte> bytes, TcpOptionsRepr options)
    {
        this.bytes = bytes;
        this.options = options;
    }

    /// <summary>
    /// Checks the data offset, the checksum over the pseudo-header (unless <paramref name="checksumTrusted"/>:
    /// the device said it needs no check, see <see cref="NetStack.Receive(NetworkInterface, ReadOnlySpan{byte}, Time.Instant, bool)"/>), and the options.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, Ipv4Address source, Ipv4Address destination, out TcpSegment segment, out DropReason why, bool checksumTrusted = false)
    {
        segment = default;
        if (bytes.Length < MinimumHeaderLength) { why = DropReason.TcpTruncated; return false; }
        int headerLength = (bytes[12] >> 4) * 4;
        if (headerLength < MinimumHeaderLength || headerLength > bytes.Length) { why = DropReason.TcpBadDataOffset; return false; }
        if (!checksumTrusted)
        {
            ulong sum = InternetChecksum.AddPseudoHeader(0, source, destination, IpProtocol.Tcp, bytes.Length);
            if (InternetChecksum.Finish(InternetChecksum.Add(sum, bytes)) != 0) { why = DropReason.TcpBadChecksum; return false; }
        }
        if (!TcpOptionsRepr.TryParse(bytes[MinimumHeaderLength..headerLength], out var options, out why)) return false;
        segment = new TcpSegment(bytes, options);
        return true;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(bytes);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
    public SeqNumber Sequence => new(BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]));
    public SeqNumber Acknowledgment => new(BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));
    public int HeaderLength => (bytes[12] >> 4) * 4;
    public TcpFlags Flags => (TcpFlags)bytes[13];
    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(bytes[14..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(bytes[16..]);
    public ushort UrgentPointer => BinaryPrimitives.ReadUInt16BigEndian(bytes[18..]);
    public ReadOnlySpan<byte> OptionBytes => bytes[MinimumHeaderLength..HeaderLength];
    public ReadOnlySpan<byte> Payload => bytes[HeaderLength..];

    /// <summary>The options, parsed once by <see cref="TryRead"/> while it checked them.</summary>
    public TcpOptionsRepr Options => options;

    public TcpRepr ToRepr() => new(SourcePort, DestinationPort, Sequence, Acknowledgment, Flags, Window, UrgentPointer, Options, Payload.Length);
}

/// <summary>The TCP header as plain values.</summary>
public readonly record struct TcpRepr(
    ushort SourcePort,
    ushort DestinationPort,
    SeqNumber Sequence,
    SeqNumber Acknowledgment,
    TcpFlags Flags,
    ushort Window,
    ushort UrgentPointer = 0,
    TcpOptionsRepr Options = default,
    int PayloadLength = 0)
{
    public int HeaderLength => TcpSegment.MinimumHeaderLength + Options.Length;
    public int Length => HeaderLength + PayloadLength;

    /// <summary>Writes header and options of a segment whose payload already sits at <see cref="HeaderLength"/>, with its checksum.</summary>
    public void Write(Span<byte> segment, Ipv4Address source, Ipv4Address destination)
    {
        int headerLength = HeaderLength;
        BinaryPrimitives.WriteUInt16BigEndian(segment, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment[4..], Sequence.Value);
        BinaryPrimitives.WriteUInt32BigEndian(segment[8..], Acknowledgment.Value);
        segment[12] = (byte)((headerLength / 4) << 4);
        segment[13] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment[14..], Window);
        segment[16] = 0;
        segment[17] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(segment[18..], UrgentPointer);
        Options.Write(segment[TcpSegment.MinimumHeaderLength..]);
        ulong sum = InternetChecksum.AddPseudoHeader(0, source, destination, IpProtocol.Tcp, Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], InternetChecksum.Finish(InternetChecksum.Add(sum, segment[..Length])));
    }
}
