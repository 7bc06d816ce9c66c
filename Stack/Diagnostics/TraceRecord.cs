using UserStack.Wire;

namespace UserStack.Diagnostics;

/// <summary>The kinds of trace line, as filters and colours see them.</summary>
public enum TraceKind : byte { Frame, State, Segment, Timer, Congestion, Arp, Echo, Drop }

/// <summary>
/// One trace event made readable: what the console prints, what JSON carries, what filters test.
/// <see cref="Text"/> is the tcpdump line for a frame and the explanation for an event;
/// <see cref="Reason"/> and <see cref="Rule"/> say why (a sent segment's reason, a state change's cause).
/// </summary>
public sealed record TraceRecord(double Time, TraceKind Kind, string Protocol, string Text)
{
    /// <summary>"in" or "out" for frames, null for events.</summary>
    public string? Direction { get; init; }
    public string? Reason { get; init; }
    public string? Rule { get; init; }
    public Ipv4Address? Source { get; init; }
    public Ipv4Address? Destination { get; init; }
    public ushort SourcePort { get; init; }
    public ushort DestinationPort { get; init; }
    /// <summary>The TCP connection ("10.0.0.2:7-10.0.0.1:40000") of a state, timer or congestion event.</summary>
    public string? Connection { get; init; }
    /// <summary>Numbers an event carries, by stable name (cwnd, ssthresh, sack_blocks, duration_ms, backoff...).</summary>
    public IReadOnlyDictionary<string, object>? Fields { get; init; }
}
