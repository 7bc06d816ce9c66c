using UserStack.Link;
using UserStack.Wire;

namespace UserStack;

/// <summary>How one interface of the stack is set up.</summary>
public sealed record StackOptions
{
    public required MacAddress HardwareAddress { get; init; }
    /// <summary>Our address and the on-link prefix, e.g. 10.0.0.2/24.</summary>
    public required Ipv4Cidr Address { get; init; }
    /// <summary>Next hop for destinations off the prefix (the default route), if any.</summary>
    public Ipv4Address? Gateway { get; init; }
    /// <summary>IP MTU of the link: the largest IPv4 datagram we send or accept.</summary>
    public int Mtu { get; init; } = 1500;
    public ArpOptions Arp { get; init; } = new();
    /// <summary>ICMP errors per second (token bucket refill), like Linux's icmp_msgs_per_sec.</summary>
    public int IcmpErrorsPerSecond { get; init; } = 1000;
    /// <summary>ICMP error burst, like Linux's icmp_msgs_burst.</summary>
    public int IcmpErrorBurst { get; init; } = 50;
    /// <summary>First IPv4 Identification value; the host picks it at random.</summary>
    public ushort InitialIdentification { get; init; }
    /// <summary>Ephemeral port range (RFC 6335 8.1.2: 49152-65535 by default).</summary>
    public ushort EphemeralPortFirst { get; init; } = 49152;
    public ushort EphemeralPortLast { get; init; } = 65535;
    /// <summary>Secret key for RFC 6056 port selection (and, later, RFC 6528 ISNs); the host draws it at random.</summary>
    public byte[] Secret { get; init; } = [];
    public Tcp.TcpOptions Tcp { get; init; } = new();
    /// <summary>
    /// Forward datagrams between interfaces (RFC 1812, docs/routing.md); off, as a host is
    /// (RFC 1122 3.3.4.2, Linux ip_forward = 0): a datagram for another address is dropped (Ipv4NotForUs).
    /// </summary>
    public bool Forwarding { get; init; }
    /// <summary>Name of the first interface in traces and listings.</summary>
    public string InterfaceName { get; init; } = "if0";
    /// <summary>IPv4 reassembly limits (docs/ipv4.md).</summary>
    public Ip.Reassembly.ReassemblyOptions Reassembly { get; init; } = new();

    public const int MinimumMtu = 68; // RFC 791: every host must handle 68-byte datagrams
    public const int MaximumMtu = 65535 - EthernetFrame.HeaderLength;

    /// <summary>A unicast MAC and an address that can be an interface's (shared with <see cref="InterfaceOptions"/>).</summary>
    internal static void ValidateLink(MacAddress hardwareAddress, Ipv4Cidr address)
    {
        if (!hardwareAddress.IsUnicast || hardwareAddress == MacAddress.Zero) throw new ArgumentException($"{hardwareAddress} is not a unicast MAC address", nameof(HardwareAddress));
        var a = address.Address;
        if (a.IsUnspecified || a.IsMulticast || a.IsLimitedBroadcast || a.IsReserved || a.IsLoopback)
            throw new ArgumentException($"{a} cannot be an interface address", nameof(Address));
        if (address.PrefixLength < 31 && (a == address.Network || a == address.SubnetBroadcast))
            throw new ArgumentException($"{a} is the network or broadcast address of {address.Network}/{address.PrefixLength}", nameof(Address));
    }

    public void Validate()
    {
        if (Mtu < MinimumMtu || Mtu > MaximumMtu) throw new ArgumentOutOfRangeException(nameof(Mtu), Mtu, $"MTU must be between {MinimumMtu} and {MaximumMtu}");
        ValidateLink(HardwareAddress, Address);
        if (EphemeralPortFirst == 0 || EphemeralPortLast < EphemeralPortFirst) throw new ArgumentException($"ephemeral port range {EphemeralPortFirst}-{EphemeralPortLast} is empty or includes port 0");
        if (Arp is null) throw new ArgumentNullException(nameof(Arp));
        Arp.Validate();
        if (Tcp is null) throw new ArgumentNullException(nameof(Tcp));
        Tcp.Validate();
        if (Reassembly is null) throw new ArgumentNullException(nameof(Reassembly));
        Reassembly.Validate();
        if (Gateway is { } g && !Address.Contains(g)) throw new ArgumentException($"gateway {g} is not on {Address.Network}/{Address.PrefixLength}", nameof(Gateway));
    }
}
