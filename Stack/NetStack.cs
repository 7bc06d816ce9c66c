using UserStack.Diagnostics;
using UserStack.Icmp;
using UserStack.Ip;
using UserStack.Link;
using UserStack.Raw;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Tcp;
using UserStack.Udp;
using UserStack.Wire;

namespace UserStack;

/// <summary>
/// The stack, sans-I/O: frames and time go in through <see cref="Receive"/> and <see cref="Poll"/>,
/// frames come out through each interface's <see cref="IFrameSink"/>. It never reads a clock,
/// starts a thread or touches a device; every call gets the time it runs at. It has one interface
/// (from <see cref="StackOptions"/>) and may be given more (<see cref="AddInterface"/>), each with its
/// own MAC, address, MTU and ARP cache; IPv4 and the transports are shared, and routes pick the link.
/// Not thread-safe: the host calls it from one thread or under one lock.
/// </summary>
public sealed class NetStack : INetworkNode
{
    private readonly byte[] padded = new byte[EthernetFrame.MinimumLength];
    private readonly List<NetworkInterface> interfaces = new();

    public NetStack(StackOptions options, IFrameSink sink)
    {
        options.Validate();
        Options = options;
        var first = new NetworkInterface(this, 0, options.InterfaceName, options.HardwareAddress, options.Address, options.Mtu, sink);
        interfaces.Add(first);
        Routes.Add(new Route(new Ipv4Cidr(options.Address.Network, options.Address.PrefixLength), null, first));
        if (options.Gateway is { } gateway) Routes.Add(new Route(new Ipv4Cidr(Ipv4Address.Any, 0), gateway));
        Ipv4 = new Ipv4Layer(this);
        Icmp = new IcmpLayer(this);
        Raw = new RawLayer(this);
        var secret = options.Secret.Length > 0 ? options.Secret : new byte[32];
        Udp = new UdpLayer(this, new EphemeralPortAllocator(options.EphemeralPortFirst, options.EphemeralPortLast, secret));
        Tcp = new TcpLayer(this, new EphemeralPortAllocator(options.EphemeralPortFirst, options.EphemeralPortLast, secret), secret, options.Tcp);
        Ipv4.Register(IpProtocol.Tcp, Tcp);
        Icmp.RegisterErrorHandler(IpProtocol.Tcp, Tcp);
        Ipv4.Register(IpProtocol.Icmp, Icmp);
        Ipv4.Register(IpProtocol.Udp, Udp);
        Icmp.RegisterErrorHandler(IpProtocol.Udp, Udp);
    }

    public StackOptions Options { get; }
    public Counters Counters { get; } = new();
    /// <summary>Set to watch every frame and state change; null costs nothing.</summary>
    public ITraceSink? Trace { get; set; }

    // Why a frame is sent, and what became of a frame received, for traces and annotated captures.
    // A layer that knows more than the bytes show (TCP: a retransmission, a persist probe, a RST's
    // cause) sets SendNote just before it transmits and clears it after; TransmitFrame hands it to the
    // FrameSent event and exposes it as TransmitNote while the sink writes the frame (a capture reads it
    // there). ARP frames sent meanwhile (a resolution a segment waits for) never take it. On receipt,
    // ReceiveFate is the first drop reason of the frame's journey, None when a layer took it.
    // Setting a note is a struct copy: nothing is built unless someone reads it.

    /// <summary>Set by a layer around its transmit call; see the comment above.</summary>
    internal FrameNote SendNote { get; set; }
    /// <summary>Why the frame being handed to the sink right now was sent (valid only during <see cref="IFrameSink.Transmit"/>).</summary>
    public FrameNote TransmitNote { get; private set; }
    /// <summary>What became of the last frame given to <see cref="Receive"/>: the drop reason, or None if a layer accepted it.</summary>
    public DropReason ReceiveFate { get; private set; }
    private bool receiving;
    /// <summary>
    /// The frame being received needs no TCP/UDP checksum check: its device says so (a TAP with checksum
    /// offload: the kernel left the sum undone for a frame that never left the machine, as Linux's
    /// CHECKSUM_PARTIAL, or checked it itself). Valid only during <see cref="Receive(NetworkInterface, ReadOnlySpan{byte}, Instant, bool)"/>.
    /// </summary>
    internal bool ReceiveChecksumTrusted { get; set; }
    /// <summary>
    /// Set by TCP around the transmit of a super-segment (TSO): the payload bytes per segment the
    /// interface's device cuts it into; 0 for an ordinary frame. Kept with a frame held for ARP.
    /// </summary>
    internal int SendSegmentSize { get; set; }
    public RouteTable Routes { get; } = new();
    /// <summary>Every interface, the first (from <see cref="StackOptions"/>) at index 0.</summary>
    public IReadOnlyList<NetworkInterface> Interfaces => interfaces;
    /// <summary>The same, for the per-frame loops: a span allocates no enumerator (a boxed one per loop cost 200 B per SYN).</summary>
    internal ReadOnlySpan<NetworkInterface> InterfaceSpan => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(interfaces);
    /// <summary>The first interface: the one <see cref="StackOptions"/> describes.</summary>
    public NetworkInterface Primary => interfaces[0];
    /// <summary>The first interface's Ethernet and ARP (a one-interface stack's).</summary>
    public EthernetLayer Ethernet => Primary.Ethernet;
    public ArpLayer Arp => Primary.Arp;
    public Ipv4Layer Ipv4 { get; }
    public IcmpLayer Icmp { get; }
    public RawLayer Raw { get; }
    public UdpLayer Udp { get; }
    public TcpLayer Tcp { get; }

    /// <summary>
    /// Adds a link: its on-link prefix becomes a route through it. Its address must not be one the
    /// stack already has. Call <see cref="Start"/> (or <see cref="ArpLayer"/>'s announcement) after.
    /// </summary>
    public NetworkInterface AddInterface(InterfaceOptions options, IFrameSink sink)
    {
        options.Validate();
        if (Ipv4.IsLocal(options.Address.Address)) throw new ArgumentException($"{options.Address.Address} is already an address of this stack", nameof(options));
        if (interfaces.Any(i => i.Name == options.Name)) throw new ArgumentException($"an interface is already named {options.Name}", nameof(options));
        var added = new NetworkInterface(this, interfaces.Count, options.Name, options.HardwareAddress, options.Address, options.Mtu, sink);
        interfaces.Add(added);
        Ipv4.LinkAdded(added);
        Routes.Add(new Route(new Ipv4Cidr(options.Address.Network, options.Address.PrefixLength), null, added));
        return added;
    }

    /// <summary>Brings the interfaces up: each announces its address with a gratuitous ARP.</summary>
    public void Start(Instant now)
    {
        foreach (var i in interfaces) i.Arp.AnnounceGratuitous(now);
    }

    /// <summary>One frame from the first interface's wire. The span is only read during the call.</summary>
    public void Receive(ReadOnlySpan<byte> frame, Instant now) => Receive(Primary, frame, now);

    /// <summary>One frame from the wire of interface <paramref name="on"/>.</summary>
    public void Receive(NetworkInterface on, ReadOnlySpan<byte> frame, Instant now) => Receive(on, frame, now, checksumTrusted: false);

    /// <summary>
    /// One frame from the wire of interface <paramref name="on"/>; <paramref name="checksumTrusted"/>: its
    /// device (checksum offload) says its TCP/UDP checksum needs no check; it may then be a TCP
    /// super-segment longer than the MTU (the kernel's GSO), taken as one segment.
    /// </summary>
    public void Receive(NetworkInterface on, ReadOnlySpan<byte> frame, Instant now, bool checksumTrusted)
    {
        Counters.Increment(Counter.FramesReceived);
        Counters.Increment(Counter.BytesReceived, frame.Length);
        if (Trace is { } trace)
        {
            var copy = frame.ToArray();
            if (checksumTrusted) OffloadedChecksum.Complete(copy); // a learner sees the checksum the sender meant, not the offload's placeholder
            trace.Write(new FrameReceived(now, copy));
        }
        ReceiveFate = DropReason.None;
        receiving = true;
        ReceiveChecksumTrusted = checksumTrusted;
        try { on.Ethernet.Receive(frame, now); }
        finally { receiving = false; ReceiveChecksumTrusted = false; }
    }

    /// <summary>Fires every timer due at <paramref name="now"/>.</summary>
    public void Poll(Instant now)
    {
        foreach (var i in interfaces) i.Arp.Poll(now);
        Ipv4.Poll(now);
        Tcp.Poll(now);
    }

    /// <summary>
    /// The frames that follow until <see cref="EndBatch"/> came from one read of the device (a
    /// wake-up that found several queued): TCP sends one ACK per connection for the in-order data of
    /// the whole batch, as Linux's GRO merges what one NAPI poll finds (TcpLayer.Batch.cs).
    /// </summary>
    public void BeginBatch() => Tcp.BeginBatch();

    /// <summary>The batch is over: the ACKs it owes go out now.</summary>
    public void EndBatch(Instant now) => Tcp.EndBatch(now);

    /// <summary>When <see cref="Poll"/> next has work; <see cref="Instant.MaxValue"/> when idle.</summary>
    public Instant NextDeadline
    {
        get
        {
            var next = Instant.Min(Ipv4.NextDeadline, Tcp.NextDeadline);
            foreach (var i in interfaces) next = Instant.Min(next, i.Arp.NextDeadline);
            return next;
        }
    }

    internal void Drop(DropReason reason, Instant now)
    {
        Counters.Drop(reason);
        if (receiving && ReceiveFate == DropReason.None) ReceiveFate = reason;
        Trace?.Write(new Dropped(now, reason));
    }

    /// <summary>Fills in the Ethernet header of an IPv4 frame and sends it on interface <paramref name="via"/>.</summary>
    internal void TransmitIpv4(NetworkInterface via, MacAddress destination, Span<byte> frame, Instant now)
    {
        new EthernetRepr(destination, via.HardwareAddress, EtherType.Ipv4).Write(frame);
        TransmitFrame(frame, now, via);
    }

    /// <summary>Sends a complete frame on interface <paramref name="via"/> (the first by default), padded to the 60-byte Ethernet minimum.</summary>
    internal void TransmitFrame(ReadOnlySpan<byte> frame, Instant now, NetworkInterface? via = null)
    {
        if (frame.Length < EthernetFrame.MinimumLength)
        {
            frame.CopyTo(padded);
            padded.AsSpan(frame.Length).Clear();
            frame = padded;
        }
        Counters.Increment(Counter.FramesSent);
        Counters.Increment(Counter.BytesSent, frame.Length);
        bool arp = frame.Length > 13 && frame[12] == 0x08 && frame[13] == 0x06;
        var note = arp ? default : SendNote; // ARP never carries a segment's note
        Trace?.Write(new FrameSent(now, frame.ToArray(), note));
        TransmitNote = note;
        int segmentSize = arp ? 0 : SendSegmentSize;
        if (segmentSize > 0) (via ?? Primary).Sink.Transmit(frame, segmentSize);
        else (via ?? Primary).Sink.Transmit(frame);
        TransmitNote = default;
    }
}
