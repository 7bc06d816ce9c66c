using UserStack.Diagnostics;
using UserStack.Icmp;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Ip;

/// <summary>
/// IPv4 (RFC 791, RFC 1122 3.2.1): checks every datagram, keeps what is addressed to us, hands it
/// to its protocol; builds outbound datagrams in place and routes them to a next hop.
/// </summary>
public sealed partial class Ipv4Layer
{
    private const int FrameHeaders = EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength;

    private readonly NetStack stack;
    private readonly IIpProtocolHandler?[] handlers = new IIpProtocolHandler?[256];
    private readonly byte[] transmit;
    private ushort nextIdentification;

    internal Ipv4Layer(NetStack stack)
    {
        this.stack = stack;
        transmit = new byte[EthernetFrame.HeaderLength + stack.Options.Mtu];
        nextIdentification = stack.Options.InitialIdentification;
    }

    public Ipv4Address Address => stack.Options.Address.Address;
    public int Mtu => stack.Options.Mtu;

    /// <summary>Registers the handler of one IP protocol number.</summary>
    public void Register(IpProtocol protocol, IIpProtocolHandler handler) => handlers[(int)protocol] = handler;

    /// <summary>Limited broadcast or our subnet's directed broadcast (RFC 1122 3.2.1.3).</summary>
    public bool IsBroadcast(Ipv4Address a) => a.IsLimitedBroadcast || (stack.Options.Address.PrefixLength < 31 && a == stack.Options.Address.SubnetBroadcast);

    // RFC 1122 3.2.1.3: a source that is broadcast, multicast, class E or loopback is martian.
    private bool IsValidSource(Ipv4Address a) => !(a.IsUnspecified || a.IsMulticast || a.IsReserved || a.IsLoopback || IsBroadcast(a) || a == Address);

    internal void Receive(ReadOnlySpan<byte> bytes, Instant now)
    {
        if (!Ipv4Packet.TryRead(bytes, out var packet, out var why)) { stack.Drop(why, now); return; }
        stack.Counters.Increment(Counter.Ipv4Received);
        var destination = packet.Destination;
        if (destination != Address && !IsBroadcast(destination)) { stack.Drop(DropReason.Ipv4NotForUs, now); return; }
        if (!IsValidSource(packet.Source)) { stack.Drop(DropReason.Ipv4BadSource, now); return; }
        // Reassembly is not built yet: fragments are dropped and counted, never half-delivered.
        if (packet.IsFragment) { stack.Drop(DropReason.Ipv4Fragment, now); return; }

        stack.Raw.Deliver(packet);
        var handler = handlers[(int)packet.Protocol];
        if (handler is null)
        {
            stack.Drop(DropReason.Ipv4UnknownProtocol, now);
            // RFC 1122 3.2.2.1: a host SHOULD send protocol unreachable.
            stack.Icmp.SendError(IcmpType.DestinationUnreachable, IcmpLayer.ProtocolUnreachable, packet, now);
            return;
        }
        stack.Counters.Increment(Counter.Ipv4Delivered);
        handler.Receive(packet, now);
    }

    /// <summary>Where an upper layer writes the payload of its next datagram before calling <see cref="Send"/>.</summary>
    public Span<byte> PayloadBuffer => transmit.AsSpan(FrameHeaders);

    /// <summary>
    /// Sends the datagram whose payload sits in <see cref="PayloadBuffer"/>: writes the header,
    /// picks the next hop and hands the frame to ARP. False when it was dropped (counted).
    /// </summary>
    public bool Send(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int payloadLength, Instant now, byte typeOfService = 0, byte timeToLive = Ipv4Repr.DefaultTimeToLive)
    {
        if (Ipv4Packet.MinimumHeaderLength + payloadLength > Mtu) { stack.Drop(DropReason.Ipv4TooBig, now); return false; }
        var header = new Ipv4Repr(source, destination, protocol, payloadLength, timeToLive, nextIdentification++, Ipv4Flags.None, 0, typeOfService);
        header.Write(transmit.AsSpan(EthernetFrame.HeaderLength));
        var frame = transmit.AsSpan(0, FrameHeaders + payloadLength);
        stack.Counters.Increment(Counter.Ipv4Sent);

        if (IsBroadcast(destination))
        {
            stack.TransmitIpv4(MacAddress.Broadcast, frame, now);
            return true;
        }
        if (destination.IsMulticast || destination == Address || !stack.Routes.TryGetNextHop(destination, out var nextHop))
        {
            stack.Drop(DropReason.Ipv4NoRoute, now);
            return false;
        }
        stack.Arp.SendTo(nextHop, frame, now);
        return true;
    }
}
