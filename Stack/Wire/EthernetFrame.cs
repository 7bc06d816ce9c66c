using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>An Ethernet II frame (IEEE 802.3 clause 3, DIX): destination, source, EtherType, payload.</summary>
public readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;
    /// <summary>Shortest frame on the wire without the FCS; shorter ones are padded (IEEE 802.3 3.2.8).</summary>
    public const int MinimumLength = 60;

    private readonly ReadOnlySpan<byte> bytes;
    private EthernetFrame(ReadOnlySpan<byte> bytes) => this.bytes = bytes;

    public static bool TryRead(ReadOnlySpan<byte> bytes, out EthernetFrame frame, out DropReason why)
    {
        frame = default;
        if (bytes.Length < HeaderLength) { why = DropReason.EthernetTruncated; return false; }
        frame = new EthernetFrame(bytes);
        why = DropReason.None;
        return true;
    }

    public MacAddress Destination => MacAddress.Read(bytes);
    public MacAddress Source => MacAddress.Read(bytes[6..]);
    public EtherType EtherType => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(bytes[12..]);
    public ReadOnlySpan<byte> Payload => bytes[HeaderLength..];
    public ReadOnlySpan<byte> Bytes => bytes;

    public EthernetRepr ToRepr() => new(Destination, Source, EtherType);
}

/// <summary>The Ethernet header as plain values, for tests, traces and writing.</summary>
public readonly record struct EthernetRepr(MacAddress Destination, MacAddress Source, EtherType EtherType)
{
    public const int HeaderLength = EthernetFrame.HeaderLength;

    /// <summary>Writes the 14-byte header; the payload follows at offset 14.</summary>
    public void Write(Span<byte> bytes)
    {
        Destination.Write(bytes);
        Source.Write(bytes[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[12..], (ushort)EtherType);
    }

    /// <summary>Zero-pads a frame to the 60-byte minimum; returns the length to send.</summary>
    public static int Pad(Span<byte> buffer, int length)
    {
        if (length >= EthernetFrame.MinimumLength) return length;
        buffer[length..EthernetFrame.MinimumLength].Clear();
        return EthernetFrame.MinimumLength;
    }
}
