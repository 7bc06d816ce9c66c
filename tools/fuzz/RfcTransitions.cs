using UserStack.Tcp;

namespace UserStack.Fuzz;

/// <summary>
/// The (state, event) pairs RFC 9293 3.10 defines, written down from its text. CLOSED stands
/// for "no TCB" as in 3.10.7.1. Pairs the RFC's own rules make impossible are left out: a new
/// acknowledgment in FIN-WAIT-2 or TIME-WAIT (everything we sent is acknowledged there).
/// </summary>
public static class RfcTransitions
{
    public static readonly TcpState[] Synchronized =
        [TcpState.SynReceived, TcpState.Established, TcpState.FinWait1, TcpState.FinWait2, TcpState.CloseWait, TcpState.Closing, TcpState.LastAck, TcpState.TimeWait];

    /// <summary>States with something to retransmit (3.10.8: RETRANSMISSION and USER TIMEOUT).</summary>
    public static readonly TcpState[] Retransmitting =
        [TcpState.SynSent, TcpState.SynReceived, TcpState.Established, TcpState.FinWait1, TcpState.CloseWait, TcpState.Closing, TcpState.LastAck];

    public static readonly IReadOnlySet<(TcpState, TcpEvent)> Defined = Build();

    private static HashSet<(TcpState, TcpEvent)> Build()
    {
        var pairs = new HashSet<(TcpState, TcpEvent)>();
        // 3.10.7.1 CLOSED: a RST is dropped; otherwise a RST answers, built from SEG.ACK or not.
        foreach (var e in new[] { TcpEvent.SegRst, TcpEvent.SegAck, TcpEvent.SegNoAck }) pairs.Add((TcpState.Closed, e));
        // 3.10.7.2 LISTEN: RST ignored, ACK reset, SYN makes SYN-RECEIVED, anything else dropped.
        foreach (var e in new[] { TcpEvent.SegRst, TcpEvent.SegAck, TcpEvent.SegSyn, TcpEvent.SegOther }) pairs.Add((TcpState.Listen, e));
        // 3.10.7.3 SYN-SENT: the ACK check, the RST check (with or without an acceptable ACK), the SYN check.
        foreach (var e in new[] { TcpEvent.SegBadAck, TcpEvent.SegRst, TcpEvent.SegRstNoAck, TcpEvent.SegSynAck, TcpEvent.SegSyn, TcpEvent.SegOther })
            pairs.Add((TcpState.SynSent, e));
        // 3.10.7.4 the synchronized states: sequence check, RST, SYN, ACK (old, new, beyond), text, FIN.
        foreach (var s in Synchronized)
            foreach (var e in new[] { TcpEvent.SegUnacceptable, TcpEvent.SegRstExact, TcpEvent.SegRstInWindow, TcpEvent.SegSyn, TcpEvent.SegNoAck,
                                      TcpEvent.SegAckOld, TcpEvent.SegAckNew, TcpEvent.SegAckBeyond, TcpEvent.SegText, TcpEvent.SegFin })
                if (!(e == TcpEvent.SegAckNew && s is TcpState.FinWait2 or TcpState.TimeWait)) pairs.Add((s, e));
        // 3.10.1-3.10.6: every user call is defined in every state.
        foreach (var s in Enum.GetValues<TcpState>())
            foreach (var e in new[] { TcpEvent.CallOpen, TcpEvent.CallSend, TcpEvent.CallReceive, TcpEvent.CallClose, TcpEvent.CallAbort, TcpEvent.CallStatus })
                pairs.Add((s, e));
        // 3.10.8: timeouts.
        foreach (var s in Retransmitting) { pairs.Add((s, TcpEvent.TimerRetransmission)); pairs.Add((s, TcpEvent.TimerUserTimeout)); }
        pairs.Add((TcpState.TimeWait, TcpEvent.TimerTimeWait));
        return pairs;
    }
}
