using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>Flags of the IPv4 header (RFC 791 3.1): bit 1 DF, bit 2 MF.</summary>
[Flags]
public enum Ipv4Flags : byte
{
    None = 0,
    MoreFragments = 1,
    DontFragment = 2,
}

/// <summary>
/// An IPv4 datagram (RFC 791 3.1), checked once by <see cref="TryRead"/>: version, IHL, total
/// length, header checksum and option structure (RFC 1122 3.2.1.1-3.2.1.8). Ethernet padding
/// past the total length is cut off.
/// </summary>
public readonly ref struct Ipv4Packet
{
    public const int MinimumHeaderLength = 20;
    public const int MaximumHeaderLength = 60;

    private readonly ReadOnlySpan<byte> bytes;
    private Ipv4Packet(ReadOnlySpan<byte> bytes) => this.bytes = bytes;

    public static bool TryRead(ReadOnlySpan<byte> bytes, out Ipv4Packet packet, out DropReason why)
    {
        packet = default;
        if (bytes.Length < MinimumHeaderLength) { why = DropReason.Ipv4Truncated; return false; }
        if (bytes[0] >> 4 != 4) { why = DropReason.Ipv4BadVersion; return false; }
        int headerLength = (bytes[0] & 0xF) * 4;
        if (headerLength < MinimumHeaderLength || headerLength > bytes.Length) { why = DropReason.Ipv4BadHeaderLength; return false; }
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        if (totalLength < headerLength || totalLength > bytes.Length) { why = DropReason.Ipv4BadTotalLength; return false; }
        if (!InternetChecksum.IsValid(bytes[..headerLength])) { why = DropReason.Ipv4BadChecksum; return false; }
        if (!Ipv4Options.AreWellFormed(bytes[MinimumHeaderLength..headerLength])) { why = DropReason.Ipv4BadOptions; return false; }
        packet = new Ipv4Packet(bytes[..totalLength]);
        why = DropReason.None;
        return true;
    }

    public int Version => bytes[0] >> 4;
    public int HeaderLength => (bytes[0] & 0xF) * 4;
    public byte TypeOfService => bytes[1];
    public int TotalLength => BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]);
    public Ipv4Flags Flags => (Ipv4Flags)(bytes[6] >> 5);
    /// <summary>Fragment offset in bytes (the field counts 8-byte units).</summary>
    public int FragmentOffset => (BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]) & 0x1FFF) * 8;
    public bool IsFragment => (Flags & Ipv4Flags.MoreFragments) != 0 || FragmentOffset != 0;
    public byte TimeToLive => bytes[8];
    public IpProtocol Protocol => (IpProtocol)bytes[9];
    public ushort HeaderChecksum => BinaryPrimitives.ReadUInt16BigEndian(bytes[10..]);
    public Ipv4Address Source => Ipv4Address.Read(bytes[12..]);
    public Ipv4Address Destination => Ipv4Address.Read(bytes[16..]);
    public ReadOnlySpan<byte> Options => bytes[MinimumHeaderLength..HeaderLength];
    public ReadOnlySpan<byte> Payload => bytes[HeaderLength..];
    public ReadOnlySpan<byte> Bytes => bytes;

    public Ipv4Repr ToRepr() => new(Source, Destination, Protocol, Payload.Length, TimeToLive, Identification, Flags, FragmentOffset, TypeOfService);
}

/// <summary>The IPv4 header as plain values (no options are ever written by us).</summary>
public readonly record struct Ipv4Repr(
    Ipv4Address Source,
    Ipv4Address Destination,
    IpProtocol Protocol,
    int PayloadLength,
    byte TimeToLive = Ipv4Repr.DefaultTimeToLive,
    ushort Identification = 0,
    Ipv4Flags Flags = Ipv4Flags.None,
    int FragmentOffset = 0,
    byte TypeOfService = 0)
{
    /// <summary>RFC 1700 / Linux ip_default_ttl.</summary>
    public const byte DefaultTimeToLive = 64;
    public const int HeaderLength = Ipv4Packet.MinimumHeaderLength;
    public int TotalLength => HeaderLength + PayloadLength;

    /// <summary>Writes a 20-byte header with its checksum; the payload follows at offset 20.</summary>
    public void Write(Span<byte> bytes)
    {
        bytes[0] = 0x45;
        bytes[1] = TypeOfService;
        BinaryPrimitives.WriteUInt16BigEndian(bytes[2..], (ushort)TotalLength);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[4..], Identification);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[6..], (ushort)(((int)Flags << 13) | (FragmentOffset / 8)));
        bytes[8] = TimeToLive;
        bytes[9] = (byte)Protocol;
        bytes[10] = 0;
        bytes[11] = 0;
        Source.Write(bytes[12..]);
        Destination.Write(bytes[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[10..], InternetChecksum.Compute(bytes[..HeaderLength]));
    }

    /// <summary>
    /// Writes the header followed by <paramref name="options"/>, padded with End of Option List to
    /// a multiple of 4 (RFC 791 3.1 "Padding"); the payload follows the returned header length.
    /// </summary>
    public int Write(Span<byte> bytes, ReadOnlySpan<byte> options)
    {
        if (options.IsEmpty) { Write(bytes); return HeaderLength; }
        int headerLength = HeaderLength + Ipv4Options.PaddedLength(options.Length);
        if (headerLength > Ipv4Packet.MaximumHeaderLength) throw new ArgumentException($"{options.Length} bytes of options do not fit an IPv4 header", nameof(options));
        Write(bytes);
        options.CopyTo(bytes[HeaderLength..]);
        bytes[(HeaderLength + options.Length)..headerLength].Clear();
        bytes[0] = (byte)(0x40 | headerLength / 4);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[2..], (ushort)(headerLength + PayloadLength));
        bytes[10] = 0;
        bytes[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(bytes[10..], InternetChecksum.Compute(bytes[..headerLength]));
        return headerLength;
    }
}

/// <summary>IPv4 options (RFC 791 3.1 "Options"): parsed for structure, then skipped.</summary>
public static class Ipv4Options
{
    public const byte EndOfList = 0;
    public const byte NoOperation = 1;
    public const byte RecordRoute = 7;
    public const byte Timestamp = 68;
    /// <summary>The high bit of the option type: copied into every fragment (RFC 791 3.1 "copied flag").</summary>
    public const byte CopiedFlag = 0x80;

    public static int PaddedLength(int length) => (length + 3) & ~3;

    /// <summary>
    /// RFC 791 3.2 "Fragmentation": the options a later fragment carries, those with the copied flag,
    /// written to <paramref name="into"/>; returns their length (unpadded).
    /// </summary>
    public static int CopyForFragments(ReadOnlySpan<byte> options, Span<byte> into)
    {
        int i = 0, written = 0;
        while (i < options.Length)
        {
            byte type = options[i];
            if (type == EndOfList) break;
            if (type == NoOperation) { i++; continue; }
            if (i + 1 >= options.Length) break;
            int length = options[i + 1];
            if (length < 2 || i + length > options.Length) break;
            if ((type & CopiedFlag) != 0)
            {
                options.Slice(i, length).CopyTo(into[written..]);
                written += length;
            }
            i += length;
        }
        return written;
    }

    /// <summary>True when every option fits: single-byte EOL/NOP, or type, length ≥ 2, value.</summary>
    public static bool AreWellFormed(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte type = options[i];
            if (type == EndOfList) return true;
            if (type == NoOperation) { i++; continue; }
            if (i + 1 >= options.Length) return false;
            int length = options[i + 1];
            if (length < 2 || i + length > options.Length) return false;
            i += length;
        }
        return true;
    }
}
