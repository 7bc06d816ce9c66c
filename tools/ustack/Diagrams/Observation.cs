namespace UserStack.Tools.Diagrams;

/// <summary>
/// One line of what a capture or a trace says, before a ladder is built from it: a frame in tcpdump's
/// form (<see cref="Frame"/>, from TcpdumpLine or the trace's text) with the stack's note, or an event of
/// a connection ("10.9.0.1:40000-10.9.0.2:7") with its explanation and, for congestion events, cwnd.
/// </summary>
public sealed record Observation(double Time, string? Frame, string? Note = null, string? Connection = null, string? Event = null, int? Cwnd = null);
