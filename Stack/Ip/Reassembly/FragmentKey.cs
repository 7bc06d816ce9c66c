using UserStack.Wire;

namespace UserStack.Ip.Reassembly;

/// <summary>RFC 791 3.2: fragments belong to one datagram when source, destination, protocol and Identification agree.</summary>
public readonly record struct FragmentKey(Ipv4Address Source, Ipv4Address Destination, IpProtocol Protocol, ushort Identification)
{
    public static FragmentKey Of(in Ipv4Packet fragment) => new(fragment.Source, fragment.Destination, fragment.Protocol, fragment.Identification);

    public override string ToString() => $"{Source}->{Destination} {Protocol} id {Identification}";
}
