using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>TCP option kinds (RFC 9293 3.2, RFC 7323, RFC 2018).</summary>
public enum TcpOptionKind : byte
{
    EndOfList = 0,
    NoOperation = 1,
    MaximumSegmentSize = 2,
    WindowScale = 3,
    SackPermitted = 4,
    Sack = 5,
    Timestamps = 8,
}

/// <summary>One SACK block: the edges of a received range (RFC 2018 3).</summary>
public readonly record struct SackBlock(SeqNumber Left, SeqNumber Right);

/// <summary>Up to four SACK blocks, inline (RFC 2018 3: at most 4 fit in 40 option bytes).</summary>
public readonly record struct SackBlocks(int Count, SackBlock First = default, SackBlock Second = default, SackBlock Third = default, SackBlock Fourth = default)
{
    public const int Capacity = 4;
    public SackBlock this[int i] => (uint)i < (uint)Count
        ? i switch { 0 => First, 1 => Second, 2 => Third, _ => Fourth }
        : throw new ArgumentOutOfRangeException(nameof(i));

    public SackBlocks With(SackBlock block) => Count switch
    {
        0 => this with { Count = 1, First = block },
        1 => this with { Count = 2, Second = block },
        2 => this with { Count = 3, Third = block },
        3 => this with { Count = 4, Fourth = block },
        _ => this,
    };
}

/// <summary>The TCP options this stack knows, as plain values; unknown kinds are skipped (RFC 9293 3.2).</summary>
public readonly record struct TcpOptionsRepr(
    ushort? MaximumSegmentSize = null,
    byte? WindowScale = null,
    bool SackPermitted = false,
    (uint Value, uint EchoReply)? Timestamps = null,
    SackBlocks Sack = default)
{
    public const int MaximumLength = 40;

    /// <summary>
    /// Parses the option bytes. A length that runs past the header or is too short for its kind
    /// makes the whole header malformed (RFC 9293 3.2; RFC 1122 4.2.2.5 asks for robustness,
    /// not guessing).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> options, out TcpOptionsRepr repr, out DropReason why)
    {
        repr = default;
        why = DropReason.TcpBadOption;
        int i = 0;
        while (i < options.Length)
        {
            var kind = (TcpOptionKind)options[i];
            if (kind == TcpOptionKind.EndOfList) break;
            if (kind == TcpOptionKind.NoOperation) { i++; continue; }
            if (i + 1 >= options.Length) return false;
            int length = options[i + 1];
            if (length < 2 || i + length > options.Length) return false;
            var value = options.Slice(i + 2, length - 2);
            switch (kind)
            {
                case TcpOptionKind.MaximumSegmentSize:
                    if (length != 4) return false;
                    repr = repr with { MaximumSegmentSize = BinaryPrimitives.ReadUInt16BigEndian(value) };
                    break;
                case TcpOptionKind.WindowScale:
                    if (length != 3) return false;
                    repr = repr with { WindowScale = value[0] };
                    break;
                case TcpOptionKind.SackPermitted:
                    if (length != 2) return false;
                    repr = repr with { SackPermitted = true };
                    break;
                case TcpOptionKind.Timestamps:
                    if (length != 10) return false;
                    repr = repr with { Timestamps = (BinaryPrimitives.ReadUInt32BigEndian(value), BinaryPrimitives.ReadUInt32BigEndian(value[4..])) };
                    break;
                case TcpOptionKind.Sack:
                    if ((length - 2) % 8 != 0 || length == 2) return false;
                    var blocks = default(SackBlocks);
                    for (int b = 0; b + 8 <= value.Length && blocks.Count < SackBlocks.Capacity; b += 8)
                        blocks = blocks.With(new SackBlock(new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(value[b..])), new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(value[(b + 4)..]))));
                    repr = repr with { Sack = blocks };
                    break;
            }
            i += length;
        }
        why = DropReason.None;
        return true;
    }

    /// <summary>Bytes that <see cref="Write"/> produces, a multiple of 4.</summary>
    public int Length
    {
        get
        {
            int n = 0;
            if (MaximumSegmentSize.HasValue) n += 4;
            if (Timestamps.HasValue) n += 12;            // [SACKOK or NOP NOP] TS
            else if (SackPermitted) n += 4;              // NOP NOP SACKOK
            if (WindowScale.HasValue) n += 4;            // NOP WS
            if (Sack.Count > 0) n += 4 + 8 * Sack.Count; // NOP NOP SACK
            return n;
        }
    }

    /// <summary>Writes the options in Linux's order and padding; returns the byte count.</summary>
    public int Write(Span<byte> bytes)
    {
        int i = 0;
        if (MaximumSegmentSize is ushort mss)
        {
            bytes[i++] = (byte)TcpOptionKind.MaximumSegmentSize; bytes[i++] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(bytes[i..], mss); i += 2;
        }
        if (Timestamps is var (tsVal, tsEcr))
        {
            if (SackPermitted) { bytes[i++] = (byte)TcpOptionKind.SackPermitted; bytes[i++] = 2; }
            else { bytes[i++] = (byte)TcpOptionKind.NoOperation; bytes[i++] = (byte)TcpOptionKind.NoOperation; }
            bytes[i++] = (byte)TcpOptionKind.Timestamps; bytes[i++] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(bytes[i..], tsVal); i += 4;
            BinaryPrimitives.WriteUInt32BigEndian(bytes[i..], tsEcr); i += 4;
        }
        else if (SackPermitted)
        {
            bytes[i++] = (byte)TcpOptionKind.NoOperation; bytes[i++] = (byte)TcpOptionKind.NoOperation;
            bytes[i++] = (byte)TcpOptionKind.SackPermitted; bytes[i++] = 2;
        }
        if (WindowScale is byte ws)
        {
            bytes[i++] = (byte)TcpOptionKind.NoOperation;
            bytes[i++] = (byte)TcpOptionKind.WindowScale; bytes[i++] = 3; bytes[i++] = ws;
        }
        if (Sack.Count > 0)
        {
            bytes[i++] = (byte)TcpOptionKind.NoOperation; bytes[i++] = (byte)TcpOptionKind.NoOperation;
            bytes[i++] = (byte)TcpOptionKind.Sack; bytes[i++] = (byte)(2 + 8 * Sack.Count);
            for (int b = 0; b < Sack.Count; b++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(bytes[i..], Sack[b].Left.Value); i += 4;
                BinaryPrimitives.WriteUInt32BigEndian(bytes[i..], Sack[b].Right.Value); i += 4;
            }
        }
        return i;
    }
}
