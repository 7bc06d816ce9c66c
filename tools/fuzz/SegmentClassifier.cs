using UserStack.Tcp;
using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>
/// Which RFC 9293 3.10.7 events a segment is to the connection it reaches, read from the TCB
/// before the segment arrives (the same checks in the same order as the RFC).
/// </summary>
public static class SegmentClassifier
{
    public static void Classify(Tcb? c, TcpFlags flags, SeqNumber seq, SeqNumber ack, int payload, List<TcpEvent> events)
    {
        bool rst = (flags & TcpFlags.Rst) != 0, syn = (flags & TcpFlags.Syn) != 0, fin = (flags & TcpFlags.Fin) != 0, hasAck = (flags & TcpFlags.Ack) != 0;
        var state = c?.State ?? TcpState.Closed;
        switch (state)
        {
            case TcpState.Closed:
                events.Add(rst ? TcpEvent.SegRst : hasAck ? TcpEvent.SegAck : TcpEvent.SegNoAck);
                return;
            case TcpState.Listen:
                events.Add(rst ? TcpEvent.SegRst : hasAck ? TcpEvent.SegAck : syn ? TcpEvent.SegSyn : TcpEvent.SegOther);
                return;
            case TcpState.SynSent:
                bool ackOk = hasAck && c!.Value.InitialSendSequence < ack && ack <= c.Value.SendNext;
                if (hasAck && !ackOk) events.Add(TcpEvent.SegBadAck);
                else if (rst) events.Add(hasAck ? TcpEvent.SegRst : TcpEvent.SegRstNoAck);
                else if (syn) events.Add(hasAck ? TcpEvent.SegSynAck : TcpEvent.SegSyn);
                else events.Add(TcpEvent.SegOther);
                return;
        }
        int length = payload + (syn ? 1 : 0) + (fin ? 1 : 0);
        var tcb = c!.Value;
        bool acceptable = Acceptable(tcb.ReceiveNext, tcb.ReceiveWindow, seq, length);
        if (rst)
        {
            events.Add(seq == tcb.ReceiveNext ? TcpEvent.SegRstExact : acceptable ? TcpEvent.SegRstInWindow : TcpEvent.SegUnacceptable);
            return;
        }
        if (syn) { events.Add(TcpEvent.SegSyn); return; } // RFC 5961 4: a SYN anywhere gets a challenge ACK
        if (!acceptable) { events.Add(TcpEvent.SegUnacceptable); return; }
        if (!hasAck) { events.Add(TcpEvent.SegNoAck); return; }
        var una = tcb.SendUnacknowledged;
        events.Add(ack <= una ? TcpEvent.SegAckOld : ack <= tcb.SendNext ? TcpEvent.SegAckNew : TcpEvent.SegAckBeyond);
        if (payload > 0) events.Add(TcpEvent.SegText);
        if (fin) events.Add(TcpEvent.SegFin);
    }

    /// <summary>RFC 9293 3.10.7.4, the four cases of the segment acceptability test.</summary>
    public static bool Acceptable(SeqNumber rcvNext, int rcvWindow, SeqNumber seq, int length)
    {
        bool InWindow(SeqNumber s) => rcvNext <= s && s < rcvNext + rcvWindow;
        if (length == 0) return rcvWindow == 0 ? seq == rcvNext : InWindow(seq);
        return rcvWindow > 0 && (InWindow(seq) || InWindow(seq + length - 1));
    }
}

/// <summary>
/// What the classifier reads of a TCB: a connection's variables, or a record's (SYN-RECEIVED or
/// TIME-WAIT), whose connection left the stack but whose rules still answer its segments.
/// </summary>
public readonly record struct Tcb(TcpState State, SeqNumber InitialSendSequence, SeqNumber SendUnacknowledged, SeqNumber SendNext,
    SeqNumber ReceiveNext, int ReceiveWindow)
{
    public static Tcb Of(TcpConnection c) =>
        new(c.State, c.InitialSendSequence, c.SendUnacknowledged, c.SendNext, c.ReceiveNext, c.ReceiveWindow);

    public static Tcb Of(SynReceivedRecord r) =>
        new(r.State, r.InitialSendSequence, r.InitialSendSequence, r.InitialSendSequence + 1, r.ReceiveNext, r.ReceiveWindow);

    public static Tcb Of(TimeWaitRecord r) => new(r.State, r.SendNext, r.SendNext, r.SendNext, r.ReceiveNext, r.ReceiveWindow);
}
