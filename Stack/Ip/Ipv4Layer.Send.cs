using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Ip;

public sealed partial class Ipv4Layer
{
    /// <summary>RFC 791: the largest datagram, header included.</summary>
    public const int MaximumDatagram = 65535;
    private const int FrameHeaders = EthernetFrame.HeaderLength + Ipv4Packet.MinimumHeaderLength;

    private readonly byte[] transmit;
    private byte[] fragmentFrame;
    private readonly byte[] copiedOptions = new byte[Ipv4Packet.MaximumHeaderLength - Ipv4Packet.MinimumHeaderLength];
    private ushort nextIdentification;

    /// <summary>
    /// Where an upper layer writes the payload of its next datagram before calling <see cref="Send"/>:
    /// room for a whole datagram, which <see cref="Send"/> fragments when it exceeds the MTU.
    /// </summary>
    public Span<byte> PayloadBuffer => transmit.AsSpan(FrameHeaders, MaximumDatagram - Ipv4Packet.MinimumHeaderLength);

    /// <summary>
    /// Sends the datagram whose payload sits in <see cref="PayloadBuffer"/>: writes the header (with
    /// <paramref name="options"/>), picks the next hop and hands the frame to ARP, in fragments when
    /// it exceeds the MTU (RFC 791 3.2, RFC 1122 3.3.5). <paramref name="pathMtu"/> decides DF; with
    /// <see cref="PathMtuDiscovery.Do"/> a datagram over the MTU is refused (the caller's EMSGSIZE).
    /// False when it was dropped (counted).
    /// </summary>
    public bool Send(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int payloadLength, Instant now,
        byte typeOfService = 0, byte timeToLive = Ipv4Repr.DefaultTimeToLive, PathMtuDiscovery pathMtu = PathMtuDiscovery.Dont, ReadOnlySpan<byte> options = default)
    {
        int headerLength = Ipv4Packet.MinimumHeaderLength + Ipv4Options.PaddedLength(options.Length);
        int total = headerLength + payloadLength;
        bool broadcast = IsBroadcast(destination);
        NextHop hop = broadcast ? new NextHop(destination, BroadcastLink(destination)) : default;
        if (!broadcast && (destination.IsMulticast || IsLocal(destination) || !stack.Routes.TryLookup(destination, out hop)))
        {
            stack.Drop(DropReason.Ipv4NoRoute, now);
            return false;
        }
        int mtu = hop.Interface.Mtu;
        // A TCP super-segment (TSO) leaves whole, DF set: the device cuts it into MTU-sized segments.
        if (stack.SendSegmentSize > 0 && hop.Interface.SegmentationOffload && !broadcast && total <= MaximumDatagram) mtu = MaximumDatagram;
        if (total > MaximumDatagram || headerLength > Ipv4Packet.MaximumHeaderLength || (total > mtu && pathMtu == PathMtuDiscovery.Do))
        {
            stack.Drop(DropReason.Ipv4TooBig, now);
            return false;
        }
        stack.Counters.Increment(Counter.Ipv4Sent);
        ushort identification = nextIdentification++;

        if (total <= mtu)
        {
            // Linux's IP_PMTUDISC_WANT: DF on whatever fits the path.
            var flags = pathMtu == PathMtuDiscovery.Dont ? Ipv4Flags.None : Ipv4Flags.DontFragment;
            if (!options.IsEmpty) transmit.AsSpan(FrameHeaders, payloadLength).CopyTo(transmit.AsSpan(EthernetFrame.HeaderLength + headerLength));
            new Ipv4Repr(source, destination, protocol, payloadLength, timeToLive, identification, flags, 0, typeOfService)
                .Write(transmit.AsSpan(EthernetFrame.HeaderLength), options);
            Transmit(transmit.AsSpan(0, EthernetFrame.HeaderLength + total), broadcast, hop, now);
            return true;
        }

        // RFC 791 3.2 "Fragmentation": pieces of a multiple of 8 bytes, the same Identification,
        // MF on all but the last; the first carries every option, the rest only the copied ones.
        int copied = Ipv4Options.CopyForFragments(options, copiedOptions);
        for (int offset = 0; offset < payloadLength;)
        {
            var fragmentOptions = offset == 0 ? options : copiedOptions.AsSpan(0, copied);
            int fragmentHeader = Ipv4Packet.MinimumHeaderLength + Ipv4Options.PaddedLength(fragmentOptions.Length);
            int length = Math.Min((mtu - fragmentHeader) & ~7, payloadLength - offset);
            bool more = offset + length < payloadLength;
            transmit.AsSpan(FrameHeaders + offset, length).CopyTo(fragmentFrame.AsSpan(EthernetFrame.HeaderLength + fragmentHeader));
            new Ipv4Repr(source, destination, protocol, length, timeToLive, identification, more ? Ipv4Flags.MoreFragments : Ipv4Flags.None, offset, typeOfService)
                .Write(fragmentFrame.AsSpan(EthernetFrame.HeaderLength), fragmentOptions);
            stack.Counters.Increment(Counter.Ipv4FragmentsSent);
            Transmit(fragmentFrame.AsSpan(0, EthernetFrame.HeaderLength + fragmentHeader + length), broadcast, hop, now);
            offset += length;
        }
        return true;
    }

    private void Transmit(Span<byte> frame, bool broadcast, NextHop hop, Instant now)
    {
        if (broadcast) stack.TransmitIpv4(hop.Interface, MacAddress.Broadcast, frame, now);
        else hop.Interface.Arp.SendTo(hop.Address, frame, now);
    }

    /// <summary>The link a broadcast leaves by: the one whose directed broadcast it is; the limited broadcast by the first.</summary>
    private NetworkInterface BroadcastLink(Ipv4Address destination)
    {
        foreach (var link in stack.InterfaceSpan) if (link.IsDirectedBroadcast(destination)) return link;
        return stack.Primary;
    }
}
