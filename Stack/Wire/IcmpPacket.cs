using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>ICMP message types (RFC 792, RFC 1122 3.2.2).</summary>
public enum IcmpType : byte
{
    EchoReply = 0,
    DestinationUnreachable = 3,
    SourceQuench = 4,
    Redirect = 5,
    EchoRequest = 8,
    TimeExceeded = 11,
    ParameterProblem = 12,
    Timestamp = 13,
    TimestampReply = 14,
}

/// <summary>An ICMP message (RFC 792): type, code, checksum, four bytes of "rest of header", data.</summary>
public readonly ref struct IcmpPacket
{
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> bytes;
    private IcmpPacket(ReadOnlySpan<byte> bytes) => this.bytes = bytes;

    /// <summary>Checks length and the checksum over the whole message (RFC 792 "Checksum").</summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out IcmpPacket packet, out DropReason why)
    {
        packet = default;
        if (bytes.Length < HeaderLength) { why = DropReason.IcmpTruncated; return false; }
        if (!InternetChecksum.IsValid(bytes)) { why = DropReason.IcmpBadChecksum; return false; }
        packet = new IcmpPacket(bytes);
        why = DropReason.None;
        return true;
    }

    public IcmpType Type => (IcmpType)bytes[0];
    public byte Code => bytes[1];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
    public uint RestOfHeader => BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]);
    /// <summary>Echo identifier (RFC 792 "Echo or Echo Reply Message").</summary>
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]);
    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]);
    public ReadOnlySpan<byte> Payload => bytes[HeaderLength..];
    public ReadOnlySpan<byte> Bytes => bytes;

    public IcmpRepr ToRepr() => new(Type, Code, RestOfHeader, Payload.Length);
}

/// <summary>An ICMP header as plain values; the payload is carried separately.</summary>
public readonly record struct IcmpRepr(IcmpType Type, byte Code, uint RestOfHeader, int PayloadLength)
{
    public const int HeaderLength = IcmpPacket.HeaderLength;
    public int Length => HeaderLength + PayloadLength;
    public ushort Identifier => (ushort)(RestOfHeader >> 16);
    public ushort SequenceNumber => (ushort)RestOfHeader;

    public static IcmpRepr Echo(IcmpType type, ushort identifier, ushort sequence, int payloadLength) =>
        new(type, 0, (uint)identifier << 16 | sequence, payloadLength);

    /// <summary>
    /// Writes the header into <paramref name="message"/>, whose payload must already sit at
    /// offset 8, and computes the checksum over all of it.
    /// </summary>
    public void Write(Span<byte> message)
    {
        message[0] = (byte)Type;
        message[1] = Code;
        message[2] = 0;
        message[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(message[4..], RestOfHeader);
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], InternetChecksum.Compute(message[..Length]));
    }
}
