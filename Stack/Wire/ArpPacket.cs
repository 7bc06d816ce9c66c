using System.Buffers.Binary;

namespace UserStack.Wire;

/// <summary>ARP operation codes (RFC 826).</summary>
public enum ArpOperation : ushort
{
    Request = 1,
    Reply = 2,
}

/// <summary>An ARP packet for Ethernet and IPv4 (RFC 826 "Packet format"), 28 bytes.</summary>
public readonly ref struct ArpPacket
{
    public const int Length = 28;
    public const ushort HardwareEthernet = 1;

    private readonly ReadOnlySpan<byte> bytes;
    private ArpPacket(ReadOnlySpan<byte> bytes) => this.bytes = bytes;

    /// <summary>Accepts only Ethernet/IPv4 ARP with a known operation, the only kind RFC 826 asks us to answer.</summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out ArpPacket packet, out DropReason why)
    {
        packet = default;
        if (bytes.Length < Length) { why = DropReason.ArpTruncated; return false; }
        var p = new ArpPacket(bytes[..Length]);
        if (p.HardwareType != HardwareEthernet || p.HardwareLength != MacAddress.Length) { why = DropReason.ArpUnsupportedHardware; return false; }
        if (p.ProtocolType != (ushort)EtherType.Ipv4 || p.ProtocolLength != Ipv4Address.Length) { why = DropReason.ArpUnsupportedProtocol; return false; }
        if (p.Operation is not (ArpOperation.Request or ArpOperation.Reply)) { why = DropReason.ArpBadOperation; return false; }
        packet = p;
        why = DropReason.None;
        return true;
    }

    public ushort HardwareType => BinaryPrimitives.ReadUInt16BigEndian(bytes);
    public ushort ProtocolType => BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
    public byte HardwareLength => bytes[4];
    public byte ProtocolLength => bytes[5];
    public ArpOperation Operation => (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]);
    public MacAddress SenderHardwareAddress => MacAddress.Read(bytes[8..]);
    public Ipv4Address SenderProtocolAddress => Ipv4Address.Read(bytes[14..]);
    public MacAddress TargetHardwareAddress => MacAddress.Read(bytes[18..]);
    public Ipv4Address TargetProtocolAddress => Ipv4Address.Read(bytes[24..]);

    public ArpRepr ToRepr() => new(Operation, SenderHardwareAddress, SenderProtocolAddress, TargetHardwareAddress, TargetProtocolAddress);
}

/// <summary>An Ethernet/IPv4 ARP packet as plain values.</summary>
public readonly record struct ArpRepr(
    ArpOperation Operation,
    MacAddress SenderHardwareAddress,
    Ipv4Address SenderProtocolAddress,
    MacAddress TargetHardwareAddress,
    Ipv4Address TargetProtocolAddress)
{
    public const int Length = ArpPacket.Length;

    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt16BigEndian(bytes, ArpPacket.HardwareEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[2..], (ushort)EtherType.Ipv4);
        bytes[4] = MacAddress.Length;
        bytes[5] = Ipv4Address.Length;
        BinaryPrimitives.WriteUInt16BigEndian(bytes[6..], (ushort)Operation);
        SenderHardwareAddress.Write(bytes[8..]);
        SenderProtocolAddress.Write(bytes[14..]);
        TargetHardwareAddress.Write(bytes[18..]);
        TargetProtocolAddress.Write(bytes[24..]);
    }
}
