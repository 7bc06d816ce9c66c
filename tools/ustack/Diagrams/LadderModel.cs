namespace UserStack.Tools.Diagrams;

/// <summary>Which way a step goes on the ladder: an arrow between the two hosts, or an event in the margin beside one of them.</summary>
public enum LadderArrow : byte { LeftToRight, RightToLeft, LeftEvent, RightEvent }

/// <summary>
/// What a TCP segment carried, as tcpdump shows it: flags in its letters ("S.", "P.", "F."), sequence
/// and acknowledgment numbers relative to each direction's first, payload length, the window field
/// as sent (<see cref="WindowScale"/> is the shift agreed in the handshake, RFC 7323 §2.3).
/// </summary>
public sealed record LadderSegment(string Flags, uint? Sequence, uint? Acknowledgment, int Length, int Window, int WindowScale = 0, bool BadChecksum = false)
{
    public bool IsRetransmission { get; init; }
    public uint End => (Sequence ?? 0) + (uint)Length + (Flags.Contains('S') ? 1u : 0u) + (Flags.Contains('F') ? 1u : 0u);

    /// <summary>The arrow's label: "[P.] seq 1:6 ack 1 len 5 win 32768".</summary>
    public string Label()
    {
        if (BadChecksum) return "bad checksum";
        var parts = new List<string> { $"[{Flags}]" };
        if (Sequence is { } s) parts.Add(Length > 0 ? $"seq {s}:{s + (uint)Length}" : $"seq {s}");
        if (Acknowledgment is { } a) parts.Add($"ack {a}");
        if (Length > 0) parts.Add($"len {Length}");
        parts.Add($"win {Window}");
        return string.Join(' ', parts);
    }
}

/// <summary>
/// One line of a ladder diagram at <see cref="Time"/> seconds: a segment between the hosts (with
/// <see cref="Segment"/> and its label), or an event beside one host (a state change, a timer, a drop).
/// <see cref="Note"/> is the stack's reason: why a segment was sent, what became of it.
/// </summary>
public sealed record LadderStep(double Time, LadderArrow Arrow, string Label, string? Note = null, LadderSegment? Segment = null)
{
    public bool IsArrow => Arrow is LadderArrow.LeftToRight or LadderArrow.RightToLeft;
    public bool IsRetransmission => Segment?.IsRetransmission == true;

    public static LadderStep Frame(double time, bool leftToRight, LadderSegment segment, string? note = null) =>
        new(time, leftToRight ? LadderArrow.LeftToRight : LadderArrow.RightToLeft, segment.Label() + (segment.IsRetransmission ? " (retransmission)" : ""), note, segment);

    public static LadderStep Event(double time, bool left, string text) => new(time, left ? LadderArrow.LeftEvent : LadderArrow.RightEvent, text);
}

/// <summary>A TCP conversation as a ladder: the two hosts ("10.9.0.1:40000") and its steps in time order. Left is the host that sent the first SYN.</summary>
public sealed record LadderDiagram(string Left, string Right, IReadOnlyList<LadderStep> Steps)
{
    /// <summary>Congestion-window samples (time, bytes) of the trace's congestion events, for `ustack graph --kind cwnd`.</summary>
    public IReadOnlyList<(double Time, int Cwnd, bool LeftHost)> Congestion { get; init; } = [];
    /// <summary>True when the steps came from a capture (frame comments as notes), false from a JSON trace.</summary>
    public bool FromCapture { get; init; }
}
