using System.Buffers.Binary;
using System.Globalization;

namespace UserStack.Wire;

/// <summary>A 48-bit IEEE 802 MAC address, kept in the low 48 bits of a ulong.</summary>
public readonly record struct MacAddress
{
    public const int Length = 6;
    private readonly ulong value;

    public MacAddress(ulong value) => this.value = value & 0xFFFF_FFFF_FFFF;

    public static MacAddress Broadcast { get; } = new(0xFFFF_FFFF_FFFF);
    public static MacAddress Zero { get; } = new(0);

    public ulong Value => value;
    public bool IsBroadcast => value == 0xFFFF_FFFF_FFFF;
    /// <summary>The I/G bit: the low bit of the first octet (IEEE 802-2014 8.2).</summary>
    public bool IsMulticast => (value & 0x0100_0000_0000) != 0;
    public bool IsUnicast => !IsMulticast;

    public static MacAddress Read(ReadOnlySpan<byte> bytes) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(bytes) << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]));

    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)(value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(bytes[2..], (uint)value);
    }

    /// <summary>A random locally administered unicast address (02:xx:xx:xx:xx:xx).</summary>
    public static MacAddress NewLocallyAdministered(Random random)
    {
        Span<byte> b = stackalloc byte[6];
        random.NextBytes(b);
        b[0] = (byte)((b[0] & 0xFC) | 0x02);
        return Read(b);
    }

    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac) ? mac : throw new FormatException($"'{text}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");

    public static bool TryParse(string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null) return false;
        var parts = text.Split(':', '-');
        if (parts.Length != 6) return false;
        ulong v = 0;
        foreach (var p in parts)
        {
            if (p.Length is < 1 or > 2 || !byte.TryParse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b)) return false;
            v = (v << 8) | b;
        }
        mac = new MacAddress(v);
        return true;
    }

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        Write(b);
        return $"{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}:{b[4]:x2}:{b[5]:x2}";
    }
}
