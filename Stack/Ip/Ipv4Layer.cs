using UserStack.Diagnostics;
using UserStack.Icmp;
using UserStack.Ip.Reassembly;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Ip;

/// <summary>
/// IPv4 (RFC 791, RFC 1122 3.2.1): checks every datagram, keeps what is addressed to us, hands it
/// to its protocol; builds outbound datagrams in place and routes them to a next hop.
/// </summary>
public sealed partial class Ipv4Layer
{
    private readonly NetStack stack;
    private readonly IIpProtocolHandler?[] handlers = new IIpProtocolHandler?[256];

    internal Ipv4Layer(NetStack stack)
    {
        this.stack = stack;
        // A whole datagram (up to 65,535 bytes, RFC 791) is built here and fragmented from it;
        // each fragment is assembled in the MTU-sized frame buffer.
        transmit = new byte[EthernetFrame.HeaderLength + Ipv4Packet.MaximumHeaderLength + MaximumDatagram];
        fragmentFrame = new byte[EthernetFrame.HeaderLength + stack.Options.Mtu];
        forwardFrame = new byte[EthernetFrame.HeaderLength + stack.Options.Mtu];
        nextIdentification = stack.Options.InitialIdentification;
        Reassembler = new Reassembler(stack.Options.Reassembly);
    }

    /// <summary>Datagrams being put back together from their fragments (RFC 791 3.2, RFC 815).</summary>
    public Reassembler Reassembler { get; }

    /// <summary>The first interface's address (a one-interface stack's only one).</summary>
    public Ipv4Address Address => stack.Primary.Address.Address;
    /// <summary>The first interface's MTU; <see cref="MtuFor"/> gives the one of the link towards a destination.</summary>
    public int Mtu => stack.Primary.Mtu;

    /// <summary>Registers the handler of one IP protocol number.</summary>
    public void Register(IpProtocol protocol, IIpProtocolHandler handler) => handlers[(int)protocol] = handler;

    /// <summary>An address of one of our interfaces: a datagram to it is ours whichever link it came by (RFC 1122 3.3.4.2, Linux's weak host model).</summary>
    public bool IsLocal(Ipv4Address a)
    {
        foreach (var link in stack.InterfaceSpan) if (link.Address.Address == a) return true;
        return false;
    }

    /// <summary>Limited broadcast or the directed broadcast of one of our subnets (RFC 1122 3.2.1.3).</summary>
    public bool IsBroadcast(Ipv4Address a)
    {
        if (a.IsLimitedBroadcast) return true;
        foreach (var link in stack.InterfaceSpan) if (link.IsDirectedBroadcast(a)) return true;
        return false;
    }

    /// <summary>The source for a datagram of ours to <paramref name="destination"/>: the address of the interface its route leaves by (Linux's preferred source), else the first one's.</summary>
    public Ipv4Address SourceFor(Ipv4Address destination) =>
        stack.Routes.TryLookup(destination, out var hop) ? hop.Interface.Address.Address : Address;

    /// <summary>The MTU of the link a datagram to <paramref name="destination"/> leaves by (the first interface's when no route holds it).</summary>
    public int MtuFor(Ipv4Address destination) =>
        stack.Routes.TryLookup(destination, out var hop) ? hop.Interface.Mtu : Mtu;

    /// <summary>A new interface may have a larger MTU: the per-fragment frame buffers grow to it.</summary>
    internal void LinkAdded(NetworkInterface link)
    {
        if (EthernetFrame.HeaderLength + link.Mtu <= fragmentFrame.Length) return;
        fragmentFrame = new byte[EthernetFrame.HeaderLength + link.Mtu];
        forwardFrame = new byte[EthernetFrame.HeaderLength + link.Mtu];
    }

    // RFC 1122 3.2.1.3: a source that is broadcast, multicast, class E or loopback is martian.
    private bool IsValidSource(Ipv4Address a) => !(a.IsUnspecified || a.IsMulticast || a.IsReserved || a.IsLoopback || IsBroadcast(a) || IsLocal(a));

    /// <summary>A datagram from interface <paramref name="arrival"/>; <paramref name="linkBroadcast"/> when its frame went to the Ethernet broadcast address.</summary>
    internal void Receive(ReadOnlySpan<byte> bytes, NetworkInterface arrival, bool linkBroadcast, Instant now)
    {
        if (!Ipv4Packet.TryRead(bytes, out var packet, out var why)) { stack.Drop(why, now); return; }
        stack.Counters.Increment(Counter.Ipv4Received);
        var destination = packet.Destination;
        if (!IsLocal(destination) && !IsBroadcast(destination))
        {
            // RFC 1122 3.3.4.2 / RFC 1812 5.2.3: a host drops what is not for it; a router forwards it.
            if (stack.Options.Forwarding) Forward(packet, linkBroadcast, now);
            else stack.Drop(DropReason.Ipv4NotForUs, now);
            return;
        }
        if (!IsValidSource(packet.Source)) { stack.Drop(DropReason.Ipv4BadSource, now); return; }
        if (packet.IsFragment) { Reassemble(packet, now); return; }
        Deliver(packet, now);
    }

    /// <summary>RFC 791 3.2 "Reassembly": the fragment joins its datagram; a completed datagram is delivered whole.</summary>
    private void Reassemble(in Ipv4Packet fragment, Instant now)
    {
        stack.Counters.Increment(Counter.Ipv4FragmentsReceived);
        var result = Reassembler.Add(fragment, now, out var complete, out int evicted);
        for (int i = 0; i < evicted; i++) stack.Drop(DropReason.Ipv4ReassemblyOverflow, now);
        if (result != DropReason.None) stack.Drop(result, now);
        if (complete is null) return;
        try
        {
            if (!Ipv4Packet.TryRead(complete.Datagram, out var whole, out var why)) { stack.Drop(why, now); return; }
            stack.Counters.Increment(Counter.Ipv4Reassembled);
            stack.ReceiveChecksumTrusted = false; // the device vouched for one frame, not for the datagram it completes
            Deliver(whole, now);
        }
        finally
        {
            Reassembler.Release(complete);
        }
    }

    /// <summary>When the oldest datagram in reassembly times out.</summary>
    internal Instant NextDeadline => Reassembler.NextDeadline;

    /// <summary>
    /// RFC 791 3.2 / RFC 1122 3.3.2: a datagram not complete in time is dropped; if its first
    /// fragment arrived, the source gets ICMP time exceeded, code 1 (RFC 792), as Linux's ip_expire.
    /// </summary>
    internal void Poll(Instant now)
    {
        while (Reassembler.TryExpire(now, out var expired))
        {
            stack.Drop(DropReason.Ipv4ReassemblyTimeout, now);
            if (expired.HasFirstFragment)
            {
                var first = Reassembler.RentFirstFragment(expired, out int length);
                if (Ipv4Packet.TryRead(first.AsSpan(0, length), out var quoted, out _))
                    stack.Icmp.SendError(IcmpType.TimeExceeded, IcmpLayer.FragmentReassemblyTimeExceeded, quoted, now);
                Reassembler.ReturnFirstFragment(first);
            }
            Reassembler.Release(expired);
        }
    }

    private void Deliver(in Ipv4Packet packet, Instant now)
    {
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
}
