using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Ip;

/// <summary>Datagrams whose header the caller built (raw sockets with IP_HDRINCL), sent as they are.</summary>
public sealed partial class Ipv4Layer
{
    /// <summary>Where a whole caller-built datagram, header included, is written before <see cref="SendBuilt"/>; the caller keeps it within the MTU of its link (<see cref="MtuFor"/>).</summary>
    public Span<byte> DatagramBuffer => transmit.AsSpan(EthernetFrame.HeaderLength, MaximumDatagram);

    /// <summary>The next identification of ours, never 0: for a caller-built header that left it 0 (Linux ip_select_ident).</summary>
    public ushort TakeIdentification()
    {
        ushort id = nextIdentification++;
        return id != 0 ? id : nextIdentification++;
    }

    /// <summary>
    /// Sends the first <paramref name="length"/> bytes of <see cref="DatagramBuffer"/> unchanged toward
    /// <paramref name="destination"/> (the call's, which may differ from the header's, as Linux's
    /// raw_send_hdrinc routes by the call). No fragmentation: the caller checked the MTU. False when dropped (counted).
    /// </summary>
    public bool SendBuilt(int length, Ipv4Address destination, Instant now)
    {
        var frame = transmit.AsSpan(0, EthernetFrame.HeaderLength + length);
        if (IsBroadcast(destination))
        {
            stack.Counters.Increment(Counter.Ipv4Sent);
            stack.TransmitIpv4(BroadcastLink(destination), MacAddress.Broadcast, frame, now);
            return true;
        }
        if (destination.IsMulticast || IsLocal(destination) || !stack.Routes.TryLookup(destination, out var hop))
        {
            stack.Drop(DropReason.Ipv4NoRoute, now);
            return false;
        }
        stack.Counters.Increment(Counter.Ipv4Sent);
        hop.Interface.Arp.SendTo(hop.Address, frame, now);
        return true;
    }
}
