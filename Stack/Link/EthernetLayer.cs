using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Link;

/// <summary>Ethernet II in, on one interface: accept frames to its MAC or broadcast, hand ARP and IPv4 up.</summary>
public sealed class EthernetLayer
{
    private readonly NetStack stack;
    private readonly NetworkInterface link;

    internal EthernetLayer(NetStack stack, NetworkInterface link)
    {
        this.stack = stack;
        this.link = link;
    }

    internal void Receive(ReadOnlySpan<byte> bytes, Instant now)
    {
        if (!EthernetFrame.TryRead(bytes, out var frame, out var why)) { stack.Drop(why, now); return; }
        var destination = frame.Destination;
        if (destination != link.HardwareAddress && !destination.IsBroadcast)
        {
            stack.Drop(DropReason.EthernetNotForUs, now);
            return;
        }
        switch (frame.EtherType)
        {
            case EtherType.Arp: link.Arp.Receive(frame, now); break;
            case EtherType.Ipv4: stack.Ipv4.Receive(frame.Payload, link, destination.IsBroadcast, now); break;
            default: stack.Drop(DropReason.EthernetUnknownType, now); break;
        }
    }
}
