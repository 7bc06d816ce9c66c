using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Icmp;

/// <summary>
/// The start of the datagram an ICMP error quotes (RFC 792: its IP header and at least 8 bytes of
/// data), read leniently: the quote is usually cut short, so lengths and checksum are not checked.
/// </summary>
public readonly ref struct QuotedDatagram
{
    private readonly ReadOnlySpan<byte> bytes;
    private QuotedDatagram(ReadOnlySpan<byte> bytes) => this.bytes = bytes;

    public static bool TryRead(ReadOnlySpan<byte> bytes, out QuotedDatagram quoted)
    {
        quoted = default;
        if (bytes.Length < Ipv4Packet.MinimumHeaderLength || bytes[0] >> 4 != 4) return false;
        int headerLength = (bytes[0] & 0xF) * 4;
        if (headerLength < Ipv4Packet.MinimumHeaderLength || headerLength > bytes.Length) return false;
        quoted = new QuotedDatagram(bytes);
        return true;
    }

    public IpProtocol Protocol => (IpProtocol)bytes[9];
    public Ipv4Address Source => Ipv4Address.Read(bytes[12..]);
    public Ipv4Address Destination => Ipv4Address.Read(bytes[16..]);
    /// <summary>The quoted transport header bytes (ports first for UDP and TCP).</summary>
    public ReadOnlySpan<byte> Transport => bytes[((bytes[0] & 0xF) * 4)..];
}

/// <summary>A transport that wants the ICMP errors about datagrams it sent (RFC 1122 3.2.2, 4.1.3.3).</summary>
public interface IIcmpErrorHandler
{
    /// <param name="nextHopMtu">RFC 1191 4: the Next-Hop MTU of a "fragmentation needed" (type 3 code 4), 0 otherwise.</param>
    void ReceiveError(IcmpType type, byte code, int nextHopMtu, in QuotedDatagram quoted, Instant now);
}
