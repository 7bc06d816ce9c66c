using System.Buffers.Binary;
using UserStack.Diagnostics;
using UserStack.Icmp;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Ip;

/// <summary>Forwarding between interfaces, the essentials of RFC 1812 (on with <see cref="StackOptions.Forwarding"/>).</summary>
public sealed partial class Ipv4Layer
{
    private byte[] forwardFrame; // the frame of a forwarded datagram, or of one of its fragments

    /// <summary>
    /// RFC 1812 5.2/5.3: a datagram for someone else goes on
    /// towards its destination with its TTL one less, in fragments if the next link is smaller, or is
    /// dropped (counted) with the ICMP error the RFC asks for. The order of the checks is Linux's
    /// (ip_route_input, then ip_forward): route first, then TTL, then size.
    /// </summary>
    private void Forward(in Ipv4Packet packet, bool linkBroadcast, Instant now)
    {
        var destination = packet.Destination;
        // RFC 1812 5.3.4: not what came as a link-layer broadcast; 5.3.5.1 / 5.3.7: never limited
        // broadcast, class E, loopback or 0.0.0.0; multicast needs multicast routing, which we have not.
        if (linkBroadcast || destination.IsMulticast || destination.IsReserved || destination.IsLoopback || destination.IsUnspecified)
        {
            stack.Drop(DropReason.Ipv4NotForwardable, now);
            return;
        }
        // RFC 1812 5.3.7: a martian source is not forwarded.
        if (!IsValidSource(packet.Source)) { stack.Drop(DropReason.Ipv4BadSource, now); return; }
        if (!stack.Routes.TryLookup(destination, out var hop))
        {
            stack.Drop(DropReason.Ipv4NoRoute, now);
            stack.Icmp.SendError(IcmpType.DestinationUnreachable, IcmpLayer.NetUnreachable, packet, now); // RFC 1812 5.2.7.1
            return;
        }
        // RFC 1812 5.3.1: a datagram whose TTL would reach 0 is not forwarded; the source hears time exceeded.
        if (packet.TimeToLive <= 1)
        {
            stack.Drop(DropReason.Ipv4TimeToLiveExceeded, now);
            stack.Icmp.SendError(IcmpType.TimeExceeded, IcmpLayer.TimeToLiveExceeded, packet, now);
            return;
        }
        // Out by the link it came in by, Linux would also send a redirect (RFC 1812 5.2.7.2); we forward only.
        var bytes = packet.Bytes;
        var link = hop.Interface;
        if (bytes.Length <= link.Mtu)
        {
            var frame = forwardFrame.AsSpan(0, EthernetFrame.HeaderLength + bytes.Length);
            bytes.CopyTo(frame[EthernetFrame.HeaderLength..]);
            DecrementTimeToLive(frame[EthernetFrame.HeaderLength..]);
            stack.Counters.Increment(Counter.Ipv4Forwarded);
            link.Arp.SendTo(hop.Address, frame, now);
            return;
        }
        // RFC 1812 5.2.6 / RFC 1191: too big for the next link with DF set: "fragmentation needed" with that link's MTU.
        if ((packet.Flags & Ipv4Flags.DontFragment) != 0)
        {
            stack.Drop(DropReason.Ipv4TooBig, now);
            stack.Icmp.SendFragmentationNeeded(packet, link.Mtu, now);
            return;
        }
        ForwardInFragments(packet, hop, now);
        stack.Counters.Increment(Counter.Ipv4Forwarded);
    }

    /// <summary>
    /// RFC 791 3.2 "Fragmentation", on a datagram that may itself be a fragment: pieces of a multiple
    /// of 8 bytes at its offset on, MF on all but the last unless the original had it; the first
    /// piece carries every option, the rest only the copied ones; TTL one less (RFC 1812 5.2.6, 5.3.1).
    /// </summary>
    private void ForwardInFragments(in Ipv4Packet packet, NextHop hop, Instant now)
    {
        var options = packet.Options;
        int copied = Ipv4Options.CopyForFragments(options, copiedOptions);
        var payload = packet.Payload;
        bool originalMore = (packet.Flags & Ipv4Flags.MoreFragments) != 0;
        int mtu = hop.Interface.Mtu;
        for (int offset = 0; offset < payload.Length;)
        {
            var fragmentOptions = offset == 0 ? options : copiedOptions.AsSpan(0, copied);
            int fragmentHeader = Ipv4Packet.MinimumHeaderLength + Ipv4Options.PaddedLength(fragmentOptions.Length);
            int length = Math.Min((mtu - fragmentHeader) & ~7, payload.Length - offset);
            bool more = offset + length < payload.Length || originalMore;
            payload.Slice(offset, length).CopyTo(forwardFrame.AsSpan(EthernetFrame.HeaderLength + fragmentHeader));
            new Ipv4Repr(packet.Source, packet.Destination, packet.Protocol, length, (byte)(packet.TimeToLive - 1), packet.Identification,
                    more ? Ipv4Flags.MoreFragments : Ipv4Flags.None, packet.FragmentOffset + offset, packet.TypeOfService)
                .Write(forwardFrame.AsSpan(EthernetFrame.HeaderLength), fragmentOptions);
            stack.Counters.Increment(Counter.Ipv4FragmentsSent);
            hop.Interface.Arp.SendTo(hop.Address, forwardFrame.AsSpan(0, EthernetFrame.HeaderLength + fragmentHeader + length), now);
            offset += length;
        }
    }

    /// <summary>
    /// TTL one less, and the header checksum updated for the one 16-bit word that changed
    /// (RFC 1812 5.3.1 allows it incrementally; RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
    /// </summary>
    internal static void DecrementTimeToLive(Span<byte> header)
    {
        ushort before = BinaryPrimitives.ReadUInt16BigEndian(header[8..]);
        header[8]--;
        ushort after = BinaryPrimitives.ReadUInt16BigEndian(header[8..]);
        uint sum = (uint)(ushort)~BinaryPrimitives.ReadUInt16BigEndian(header[10..]) + (ushort)~before + after;
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], (ushort)~sum);
    }
}
