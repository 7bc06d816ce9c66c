using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>An IPv4 address as a host-order uint (RFC 791 3.2 "Addressing").</summary>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    public const int Length = 4;

    public static Ipv4Address Any { get; } = new(0);
    public static Ipv4Address Broadcast { get; } = new(0xFFFF_FFFF);
    public static Ipv4Address Loopback { get; } = new(0x7F00_0001);

    public Ipv4Address(byte a, byte b, byte c, byte d) : this((uint)(a << 24 | b << 16 | c << 8 | d)) { }

    public bool IsUnspecified => Value == 0;
    public bool IsLimitedBroadcast => Value == 0xFFFF_FFFF;
    /// <summary>Class D, 224.0.0.0/4 (RFC 1112).</summary>
    public bool IsMulticast => (Value & 0xF000_0000) == 0xE000_0000;
    /// <summary>127.0.0.0/8 (RFC 1122 3.2.1.3 (g)).</summary>
    public bool IsLoopback => (Value >> 24) == 127;
    /// <summary>Class E, 240.0.0.0/4, reserved.</summary>
    public bool IsReserved => (Value & 0xF000_0000) == 0xF000_0000 && !IsLimitedBroadcast;

    public static Ipv4Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt32BigEndian(bytes));
    public void Write(Span<byte> bytes) => BinaryPrimitives.WriteUInt32BigEndian(bytes, Value);

    public static Ipv4Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv4 address (expected a.b.c.d)");

    public static bool TryParse(string? text, out Ipv4Address address)
    {
        address = default;
        if (text is null) return false;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        uint v = 0;
        foreach (var p in parts)
        {
            if (p.Length is < 1 or > 3 || !p.All(char.IsAsciiDigit) || !byte.TryParse(p, out var b)) return false;
            v = (v << 8) | b;
        }
        address = new Ipv4Address(v);
        return true;
    }

    public System.Net.IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[4];
        Write(b);
        return new System.Net.IPAddress(b);
    }
    public static Ipv4Address From(System.Net.IPAddress address)
    {
        Span<byte> b = stackalloc byte[4];
        if (!address.TryWriteBytes(b, out var written) || written != 4) throw new ArgumentException("not an IPv4 address", nameof(address));
        return Read(b);
    }

    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);
    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}

/// <summary>An address with its prefix length, "10.0.0.2/24" (RFC 4632).</summary>
public readonly record struct Ipv4Cidr(Ipv4Address Address, int PrefixLength)
{
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);
    public Ipv4Address Network => new(Address.Value & Mask);
    /// <summary>The directed broadcast of the subnet (RFC 919, RFC 1122 3.2.1.3 (d)).</summary>
    public Ipv4Address SubnetBroadcast => new(Address.Value | ~Mask);
    public bool Contains(Ipv4Address a) => (a.Value & Mask) == (Address.Value & Mask);

    public static Ipv4Cidr Parse(string text)
    {
        var slash = text.IndexOf('/');
        if (slash < 0 || !Ipv4Address.TryParse(text[..slash], out var a) || !int.TryParse(text[(slash + 1)..], out var len) || len is < 0 or > 32)
            throw new FormatException($"'{text}' is not ADDRESS/PREFIX (expected e.g. 10.0.0.2/24)");
        return new Ipv4Cidr(a, len);
    }

    public override string ToString() => $"{Address}/{PrefixLength}";
}
