namespace UserStack.Diagnostics;

/// <summary>
/// Why the stack sent a frame, where the frame alone cannot tell (a retransmission looks like the
/// original). <see cref="None"/>: the frame says it itself (ARP, ICMP, UDP, a plain TCP segment)
/// and <see cref="FrameNotes.Describe"/> reads it from the bytes. <see cref="FrameReasons"/> has the text and rule.
/// </summary>
public enum FrameReason : byte
{
    None = 0,
    TcpSyn,
    TcpSynAck,
    TcpSynAckCookie,
    TcpSynAckSimultaneousOpen,
    TcpSynRetransmission,
    TcpData,
    TcpFin,
    TcpAck,
    TcpWindowUpdate,
    TcpDelayedAck,
    TcpRetransmission,
    TcpFastRetransmission,
    TcpSackRetransmission,
    TcpPersistProbe,
    TcpChallengeAck,
    TcpKeepAlive,
    TcpRstNoConnection,
    TcpRstToListener,
    TcpRstBadAck,
    TcpRstNewSynInSynReceived,
    TcpRstDataAfterClose,
    TcpRstAbort,
    /// <summary>Data in one TSO super-segment: Count segments of Milliseconds (here: bytes) each, cut by the device.</summary>
    TcpDataSegmentationOffload,
}

/// <summary>
/// A reason with its numbers (retransmission <see cref="Count"/>, RTO in <see cref="Milliseconds"/>):
/// a small value set by the layer that transmits, so tracing off costs a struct copy, never a string.
/// </summary>
public readonly record struct FrameNote(FrameReason Reason, int Count = 0, int Milliseconds = 0)
{
    public bool IsSet => Reason != FrameReason.None;
}

/// <summary>The text and the rule of each <see cref="FrameReason"/> (built only when someone reads it).</summary>
public static class FrameReasons
{
    public static (string Text, string Rule) Of(FrameReason reason) => reason switch
    {
        FrameReason.TcpSyn => ("SYN: active open", "RFC 9293 §3.10.1"),
        FrameReason.TcpSynAck => ("SYN-ACK: answering a SYN", "RFC 9293 §3.10.7.2"),
        FrameReason.TcpSynAckSimultaneousOpen => ("SYN-ACK: a SYN crossed ours (simultaneous open)", "RFC 9293 §3.10.7.3"),
        FrameReason.TcpSynAckCookie => ("SYN-ACK with a SYN cookie: no state kept for this SYN", "RFC 4987 §3.6"),
        FrameReason.TcpSynRetransmission => ("SYN retransmission", "RFC 6298 §5.5"),
        FrameReason.TcpData => ("data", "RFC 9293 §3.10.2"),
        FrameReason.TcpDataSegmentationOffload => ("data in one TSO super-segment", "RFC 9293 §3.7.1 (each segment within the MSS)"),
        FrameReason.TcpFin => ("FIN: the application closed", "RFC 9293 §3.10.4"),
        FrameReason.TcpAck => ("ACK", "RFC 9293 §3.10.7.4"),
        FrameReason.TcpWindowUpdate => ("window update: the application read data", "RFC 9293 §3.8.6.2.2"),
        FrameReason.TcpDelayedAck => ("delayed ACK timer fired", "RFC 1122 §4.2.3.2"),
        FrameReason.TcpRetransmission => ("retransmission", "RFC 6298 §5.4"),
        FrameReason.TcpFastRetransmission => ("fast retransmit", "RFC 5681 §3.2"),
        FrameReason.TcpSackRetransmission => ("SACK recovery retransmission", "RFC 6675 §5"),
        FrameReason.TcpPersistProbe => ("zero-window probe", "RFC 9293 §3.8.6.1"),
        FrameReason.TcpChallengeAck => ("challenge ACK", "RFC 5961 §3.2"),
        FrameReason.TcpKeepAlive => ("keepalive probe", "RFC 1122 §4.2.3.6"),
        FrameReason.TcpRstNoConnection => ("RST: no connection for this segment", "RFC 9293 §3.10.7.1"),
        FrameReason.TcpRstToListener => ("RST: an ACK to a listening socket", "RFC 9293 §3.10.7.2"),
        FrameReason.TcpRstBadAck => ("RST: the ACK acknowledges nothing we sent", "RFC 9293 §3.10.7.3"),
        FrameReason.TcpRstNewSynInSynReceived => ("RST: a new SYN in SYN-RECEIVED", "RFC 9293 §3.10.7.4"),
        FrameReason.TcpRstDataAfterClose => ("RST: data arrived after close", "RFC 1122 §4.2.2.13"),
        FrameReason.TcpRstAbort => ("RST: the connection was aborted", "RFC 9293 §3.10.5"),
        _ => ("", ""),
    };

    /// <summary>"retransmission 2 (RTO 400 ms), RFC 6298 §5.4", "zero-window probe 3 (persist timer, waited 800 ms), RFC 9293 §3.8.6.1" and the like; empty for <see cref="FrameReason.None"/>.</summary>
    public static string Text(in FrameNote note, bool withRule = true)
    {
        if (!note.IsSet) return "";
        var (text, rule) = Of(note.Reason);
        // A TSO super-segment: the device sends it as Count segments of (Milliseconds) bytes, each no larger than the MSS.
        if (note.Reason == FrameReason.TcpDataSegmentationOffload) return $"{text}: the device cuts it into {note.Count} segments of at most {note.Milliseconds} bytes" + (withRule ? $", {rule}" : "");
        if (note.Count > 0) text += $" {note.Count}";
        // A persist probe: its number since the window closed and the (backed-off) interval it waited.
        if (note.Reason == FrameReason.TcpPersistProbe) text += note.Milliseconds > 0 ? $" (persist timer, waited {note.Milliseconds} ms)" : " (persist timer)";
        else if (note.Milliseconds > 0) text += $" (RTO {note.Milliseconds} ms)";
        return withRule ? $"{text}, {rule}" : text;
    }
}
