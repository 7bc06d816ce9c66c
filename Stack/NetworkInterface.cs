using UserStack.Link;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack;

/// <summary>
/// One link of a <see cref="NetStack"/>: its MAC, address, MTU, Ethernet and ARP, and the sink its
/// frames leave by. IPv4, ICMP and the transports are the stack's, shared by every interface.
/// As an <see cref="INetworkNode"/> it takes the frames of its own link; Poll and NextDeadline are the whole stack's.
/// </summary>
public sealed class NetworkInterface : INetworkNode
{
    private readonly NetStack stack;

    internal NetworkInterface(NetStack stack, int index, string name, MacAddress hardwareAddress, Ipv4Cidr address, int mtu, IFrameSink sink)
    {
        this.stack = stack;
        Index = index;
        Name = name;
        HardwareAddress = hardwareAddress;
        Address = address;
        Mtu = mtu;
        Sink = sink;
        Ethernet = new EthernetLayer(stack, this);
        Arp = new ArpLayer(stack, this);
    }

    /// <summary>0 for the first interface (the one <see cref="StackOptions"/> describes), then in the order added.</summary>
    public int Index { get; }
    public string Name { get; }
    public MacAddress HardwareAddress { get; }
    /// <summary>Our address on this link and the link's prefix.</summary>
    public Ipv4Cidr Address { get; }
    /// <summary>IP MTU of this link: the largest datagram sent on it unfragmented.</summary>
    public int Mtu { get; }
    public EthernetLayer Ethernet { get; }
    public ArpLayer Arp { get; }
    internal IFrameSink Sink { get; }
    /// <summary>
    /// The link's device cuts TCP super-segments itself (TSO): TCP may hand it up to 64 KiB at once.
    /// Set by the host that knows the device (a TAP granted TUN_F_TSO4) and whose sink takes
    /// <see cref="IFrameSink.Transmit(ReadOnlySpan{byte}, int)"/>; off by default.
    /// </summary>
    public bool SegmentationOffload { get; set; }

    /// <summary>This link's directed broadcast (RFC 1122 3.2.1.3 (d)); a /31 or /32 has none (RFC 3021).</summary>
    public bool IsDirectedBroadcast(Ipv4Address a) => Address.PrefixLength < 31 && a == Address.SubnetBroadcast;

    /// <summary>A frame from this interface's link.</summary>
    public void Receive(ReadOnlySpan<byte> frame, Instant now) => stack.Receive(this, frame, now);
    public void Poll(Instant now) => stack.Poll(now);
    public Instant NextDeadline => stack.NextDeadline;

    public override string ToString() => $"{Name} {Address} {HardwareAddress} mtu {Mtu}";
}
