namespace UserStack.Fuzz;

/// <summary>
/// The events of RFC 9293 3.10 event processing that the transition map tells apart: segment
/// kinds by flags and acceptability (3.10.7), user calls (3.10.1-3.10.6) and timeouts (3.10.8).
/// The last few are timers of the RFCs around it (RFC 1122, Linux's FIN-WAIT-2 timeout), kept
/// in the table but not counted against RFC 9293.
/// </summary>
public enum TcpEvent
{
    // 3.10.7.1-3: CLOSED, LISTEN and SYN-SENT, by the checks each makes in its order.
    SegRst, SegAck, SegNoAck, SegSyn, SegOther,
    SegBadAck, SegRstNoAck, SegSynAck,
    // 3.10.7.4: synchronized states.
    SegUnacceptable, SegRstExact, SegRstInWindow, SegAckOld, SegAckNew, SegAckBeyond, SegText, SegFin,
    // 3.10.1-3.10.6.
    CallOpen, CallSend, CallReceive, CallClose, CallAbort, CallStatus,
    // 3.10.8.
    TimerRetransmission, TimerUserTimeout, TimerTimeWait,
    // Beyond RFC 9293 3.10 (not counted).
    TimerFinWait2, TimerOther,
}

public static class TcpEventNames
{
    /// <summary>A short column label for the table.</summary>
    public static string Label(this TcpEvent e) => e switch
    {
        TcpEvent.SegRst => "RST",
        TcpEvent.SegAck => "ACK",
        TcpEvent.SegNoAck => "noACK",
        TcpEvent.SegSyn => "SYN",
        TcpEvent.SegOther => "other",
        TcpEvent.SegBadAck => "badACK",
        TcpEvent.SegRstNoAck => "RST-noACK",
        TcpEvent.SegSynAck => "SYN+ACK",
        TcpEvent.SegUnacceptable => "unaccept",
        TcpEvent.SegRstExact => "RST=",
        TcpEvent.SegRstInWindow => "RST~",
        TcpEvent.SegAckOld => "ACK<=UNA",
        TcpEvent.SegAckNew => "ACKnew",
        TcpEvent.SegAckBeyond => "ACK>NXT",
        TcpEvent.SegText => "text",
        TcpEvent.SegFin => "FIN",
        TcpEvent.CallOpen => "OPEN",
        TcpEvent.CallSend => "SEND",
        TcpEvent.CallReceive => "RECV",
        TcpEvent.CallClose => "CLOSE",
        TcpEvent.CallAbort => "ABORT",
        TcpEvent.CallStatus => "STATUS",
        TcpEvent.TimerRetransmission => "RTO",
        TcpEvent.TimerUserTimeout => "giveup",
        TcpEvent.TimerTimeWait => "2MSL",
        TcpEvent.TimerFinWait2 => "FW2tmo",
        _ => "timer*",
    };
}
