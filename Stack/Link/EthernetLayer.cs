using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Link;

/// <summary>Ethernet II in: accept frames to our MAC or broadcast, hand ARP and IPv4 up.</summary>
public sealed class EthernetLayer
{
    private readonly NetStack stack;
    internal EthernetLayer(NetStack stack) => this.stack = stack;

    internal void Receive(ReadOnlySpan<byte> bytes, Instant now)
    {
        if (!EthernetFrame.TryRead(bytes, out var frame, out var why)) { stack.Drop(why, now); return; }
        var destination = frame.Destination;
        if (destination != stack.Options.HardwareAddress && !destination.IsBroadcast)
        {
            stack.Drop(DropReason.EthernetNotForUs, now);
            return;
        }
        switch (frame.EtherType)
        {
            case EtherType.Arp: stack.Arp.Receive(frame, now); break;
            case EtherType.Ipv4: stack.Ipv4.Receive(frame.Payload, now); break;
            default: stack.Drop(DropReason.EthernetUnknownType, now); break;
        }
    }
}
