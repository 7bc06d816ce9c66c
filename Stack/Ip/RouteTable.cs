using UserStack.Wire;

namespace UserStack.Ip;

/// <summary>
/// One route: destinations in <see cref="Destination"/> go to <see cref="Gateway"/>, or straight on the
/// link when it is null, out of <see cref="Interface"/>. A gateway route may leave the interface out:
/// it then leaves by the link whose on-link route holds the gateway.
/// </summary>
public readonly record struct Route(Ipv4Cidr Destination, Ipv4Address? Gateway, NetworkInterface? Interface = null)
{
    public override string ToString() =>
        $"{Destination.Network}/{Destination.PrefixLength} {(Gateway is { } g ? $"via {g}" : "on-link")}{(Interface is { } i ? $" dev {i.Name}" : "")}";
}

/// <summary>Where a datagram goes next: the neighbour to hand it to and the interface it leaves by.</summary>
public readonly record struct NextHop(Ipv4Address Address, NetworkInterface Interface);

/// <summary>
/// Longest-prefix-match routing (RFC 1812 5.2.4.3): the most specific route that holds the
/// destination wins; among routes of the same length, the one added first.
/// </summary>
public sealed class RouteTable
{
    private readonly List<Route> routes = new();
    // The last lookup's answer: a connection asks for the same destination several times per segment
    // (MSS, TSO, the send itself); 6% of a bulk transfer's time went to scanning the table again.
    private Ipv4Address cachedDestination;
    private NextHop cachedHop;
    private bool cachedFound, cacheValid;

    /// <summary>Most specific first.</summary>
    public IReadOnlyList<Route> Routes => routes;

    public void Add(Route route)
    {
        // Insert after every route at least as long: stable, so the first added wins a tie.
        int at = routes.FindIndex(r => r.Destination.PrefixLength < route.Destination.PrefixLength);
        routes.Insert(at < 0 ? routes.Count : at, route);
        cacheValid = false;
    }

    public bool Remove(Route route)
    {
        cacheValid = false;
        return routes.Remove(route);
    }

    /// <summary>The next hop address for a destination, or false when no route covers it.</summary>
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

    /// <summary>
    /// The route for a destination resolved to a neighbour and an interface; false when no route
    /// covers it or its gateway is on no link of ours (RFC 1812 5.2.4.3; the gateway is looked up once, not recursively).
    /// </summary>
    public bool TryLookup(Ipv4Address destination, out NextHop hop)
    {
        if (cacheValid && destination == cachedDestination)
        {
            hop = cachedHop;
            return cachedFound;
        }
        cachedFound = Resolve(destination, out hop);
        (cachedDestination, cachedHop, cacheValid) = (destination, hop, true);
        return cachedFound;
    }

    private bool Resolve(Ipv4Address destination, out NextHop hop)
    {
        hop = default;
        foreach (var route in routes)
        {
            if (!route.Destination.Contains(destination)) continue;
            if (route.Gateway is not { } gateway)
            {
                if (route.Interface is not { } link) return false;
                hop = new NextHop(destination, link);
                return true;
            }
            var via = route.Interface ?? OnLinkInterface(gateway);
            if (via is null) return false;
            hop = new NextHop(gateway, via);
            return true;
        }
        return false;
    }

    private NetworkInterface? OnLinkInterface(Ipv4Address gateway)
    {
        foreach (var route in routes)
            if (route.Gateway is null && route.Interface is { } link && route.Destination.Contains(gateway)) return link;
        return null;
    }
}
