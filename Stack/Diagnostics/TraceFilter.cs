using UserStack.Wire;

namespace UserStack.Diagnostics;

/// <summary>
/// Which trace lines to show, from `--trace` terms separated by commas: protocols (tcp, udp, icmp,
/// arp), `port=N`, `host=A.B.C.D`, and `events` (no frame lines). Terms of one kind widen the
/// choice (tcp,udp: either); kinds narrow it (tcp,port=7: TCP on port 7). Empty: everything.
/// A line that says nothing about a kind (a drop by Ethernet has no port) is kept only when that kind is unrestricted.
/// </summary>
public sealed class TraceFilter
{
    private static readonly string[] Protocols = ["tcp", "udp", "icmp", "arp"];
    private readonly HashSet<string> protocols = new();
    private readonly HashSet<ushort> ports = new();
    private readonly HashSet<Ipv4Address> hosts = new();

    public static TraceFilter All { get; } = new();
    public bool EventsOnly { get; private set; }

    /// <summary>Parses the terms; FormatException naming the one it does not know.</summary>
    public static TraceFilter Parse(string? spec)
    {
        var f = new TraceFilter();
        foreach (var raw in (spec ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var term = raw.ToLowerInvariant();
            if (term is "all" or "everything") continue;
            if (term == "events") f.EventsOnly = true;
            else if (Protocols.Contains(term)) f.protocols.Add(term);
            else if (term.StartsWith("port=") && ushort.TryParse(term[5..], out var port) && port > 0) f.ports.Add(port);
            else if (term.StartsWith("host=") && Ipv4Address.TryParse(term[5..], out var host)) f.hosts.Add(host);
            else throw new FormatException($"--trace knows tcp, udp, icmp, arp, port=N, host=A.B.C.D and events, not '{raw}'");
        }
        return f;
    }

    public bool Matches(TraceRecord r)
    {
        if (EventsOnly && r.Kind == TraceKind.Frame) return false;
        if (protocols.Count > 0 && !protocols.Contains(r.Protocol)) return false;
        if (ports.Count > 0 && !(ports.Contains(r.SourcePort) || ports.Contains(r.DestinationPort))) return false;
        if (hosts.Count > 0 && !(r.Source is { } s && hosts.Contains(s) || r.Destination is { } d && hosts.Contains(d))) return false;
        return true;
    }
}
