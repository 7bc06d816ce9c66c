using UserStack.Wire;

namespace UserStack.Transport;

/// <summary>
/// The bindings of one transport protocol: local address:port (and, when connected, the remote
/// address:port) to the socket that owns it. Bind follows BSD: the same port may be shared only by
/// different specific addresses, or by sockets that all set SO_REUSEADDR. Lookup picks the most
/// specific match, as Linux's UDP and TCP demultiplexing do. A socket with a specific local address
/// and a peer is also found by its 4-tuple in a hash, so demultiplexing never scans the half-open
/// and established connections that share a listener's port (a SYN flood fills those).
/// </summary>
public sealed class PortTable<T> : IPortUsage where T : class, IBoundEndpoint
{
    private readonly Dictionary<ushort, List<T>> byPort = new();          // every socket, in the order added
    private readonly Dictionary<ushort, List<T>> partialByPort = new();   // those not in `connected`
    private readonly Dictionary<(Endpoint Local, Endpoint Remote), T> connected = new(); // first added per 4-tuple

    public PortTable(EphemeralPortAllocator ephemeral) => Ephemeral = ephemeral;

    public EphemeralPortAllocator Ephemeral { get; }
    /// <summary>Another table whose entries hold ports too (TCP's TIME-WAIT records): bind and the ephemeral choice respect them.</summary>
    public IPortUsage? AlsoHeldBy { get; init; }

    public bool InUse(ushort port) => byPort.ContainsKey(port) || (AlsoHeldBy?.InUse(port) ?? false);
    public int Count { get; private set; }
    public IEnumerable<T> All => byPort.Values.SelectMany(l => l);

    /// <summary>Whether a socket could take <paramref name="local"/> (port nonzero) without conflict.</summary>
    public bool CanBind(Endpoint local, bool reuseAddress, Endpoint? remote = null)
    {
        if (AlsoHeldBy is { } held && !held.CanBind(local, reuseAddress, remote)) return false;
        if (!byPort.TryGetValue(local.Port, out var list)) return true;
        foreach (var other in list)
        {
            bool overlap = other.Local.Address.IsUnspecified || local.Address.IsUnspecified || other.Local.Address == local.Address;
            if (!overlap) continue;
            if (reuseAddress && other.ReuseAddress) continue;
            // Two connected sockets with different peers can share a local endpoint (TCP's accepted sockets).
            if (remote is { } r && other.Remote is { } o && r != o) continue;
            return false;
        }
        return true;
    }

    /// <summary>
    /// Picks the port for <paramref name="requested"/>: itself when nonzero and free, else an
    /// ephemeral one. EADDRINUSE or EADDRNOTAVAIL (range exhausted) otherwise.
    /// </summary>
    public Errno Choose(Endpoint requested, bool reuseAddress, Endpoint? remote, out Endpoint chosen)
    {
        if (requested.Port != 0)
        {
            chosen = requested;
            return CanBind(requested, reuseAddress, remote) ? Errno.Ok : Errno.EADDRINUSE;
        }
        var address = requested.Address;
        if (Ephemeral.TryAllocate(address, remote ?? Endpoint.Any, p => !InUse(p), out var port))
        {
            chosen = new Endpoint(address, port);
            return Errno.Ok;
        }
        chosen = default;
        return Errno.EADDRNOTAVAIL;
    }

    /// <summary>Enters a socket whose Local (and Remote) are final. Call <see cref="Choose"/> first.</summary>
    public void Add(T socket)
    {
        if (!byPort.TryGetValue(socket.Local.Port, out var list)) byPort[socket.Local.Port] = list = new List<T>(1);
        list.Add(socket);
        Count++;
        if (FourTuple(socket) is { } key)
        {
            connected.TryAdd(key, socket); // a later duplicate (SO_REUSEADDR) stays behind the first, as the scan would
            return;
        }
        if (!partialByPort.TryGetValue(socket.Local.Port, out var partial)) partialByPort[socket.Local.Port] = partial = new List<T>(1);
        partial.Add(socket);
    }

    public bool Remove(T socket)
    {
        if (!byPort.TryGetValue(socket.Local.Port, out var list) || !list.Remove(socket)) return false;
        if (list.Count == 0) byPort.Remove(socket.Local.Port);
        Count--;
        if (FourTuple(socket) is { } key)
        {
            if (connected.TryGetValue(key, out var indexed) && indexed == socket)
            {
                connected.Remove(key);
                foreach (var s in list) // the next socket with the same 4-tuple, if any, takes its place
                    if (FourTuple(s) == key) { connected[key] = s; break; }
            }
        }
        else if (partialByPort.TryGetValue(socket.Local.Port, out var partial))
        {
            partial.Remove(socket);
            if (partial.Count == 0) partialByPort.Remove(socket.Local.Port);
        }
        return true;
    }

    /// <summary>The hash key of a socket that matches only one 4-tuple: a specific local address and a peer.</summary>
    private static (Endpoint, Endpoint)? FourTuple(T socket) =>
        socket.Remote is { } r && !socket.Local.Address.IsUnspecified ? (socket.Local, r) : null;

    /// <summary>The socket a segment from <paramref name="remote"/> to <paramref name="local"/> belongs to: connected beats bound, specific beats wildcard.</summary>
    public T? Lookup(Endpoint local, Endpoint remote)
    {
        // An exact 4-tuple match scores highest (3 below) and is unique in the hash.
        if (connected.Count != 0 && connected.TryGetValue((local, remote), out var exact)) return exact;
        if (!partialByPort.TryGetValue(local.Port, out var list)) return null;
        T? best = null;
        int bestScore = -1;
        foreach (var s in list)
        {
            int score = 0;
            if (!s.Local.Address.IsUnspecified)
            {
                if (s.Local.Address != local.Address) continue;
                score += 1;
            }
            if (s.Remote is { } r)
            {
                if (r != remote) continue;
                score += 2;
            }
            if (score > bestScore) { best = s; bestScore = score; }
        }
        return best;
    }

    /// <summary>Every socket that should get a copy of a broadcast datagram to this port.</summary>
    public void ForEachMatch(Endpoint local, Endpoint remote, Action<T> action)
    {
        if (!byPort.TryGetValue(local.Port, out var list)) return;
        foreach (var s in list.ToArray())
            if ((s.Local.Address.IsUnspecified || s.Local.Address == local.Address) && (s.Remote is not { } r || r == remote)) action(s);
    }
}

/// <summary>What a port table answers about the ports its entries hold.</summary>
public interface IPortUsage
{
    bool CanBind(Endpoint local, bool reuseAddress, Endpoint? remote = null);
    bool InUse(ushort port);
}
