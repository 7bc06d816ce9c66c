using UserStack.Wire;

namespace UserStack.Ip;

/// <summary>One route: destinations in <see cref="Destination"/> go to <see cref="Gateway"/>, or straight on the link when it is null.</summary>
public readonly record struct Route(Ipv4Cidr Destination, Ipv4Address? Gateway)
{
    public override string ToString() => Gateway is { } g ? $"{Destination.Network}/{Destination.PrefixLength} via {g}" : $"{Destination.Network}/{Destination.PrefixLength} on-link";
}

/// <summary>Longest-prefix-match routing (RFC 1812 5.2.4.3), for a host: the on-link prefix plus a default gateway.</summary>
public sealed class RouteTable
{
    private readonly List<Route> routes = new();

    public IReadOnlyList<Route> Routes => routes;

    public void Add(Route route)
    {
        routes.Add(route);
        routes.Sort((a, b) => b.Destination.PrefixLength.CompareTo(a.Destination.PrefixLength));
    }

    /// <summary>The next hop for a destination, or false when no route covers it.</summary>
    public bool TryGetNextHop(Ipv4Address destination, out Ipv4Address nextHop)
    {
        foreach (var route in routes)
        {
            if (!route.Destination.Contains(destination)) continue;
            nextHop = route.Gateway ?? destination;
            return true;
        }
        nextHop = default;
        return false;
    }
}
