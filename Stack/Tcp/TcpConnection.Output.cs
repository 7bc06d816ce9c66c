using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tcp;

// Segments out: our SYN or SYN,ACK, a bare ACK, a window update, data and FIN as the windows allow.
public sealed partial class TcpConnection
{
    /// <summary>Sends our SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED) with the options of RFC 9293 3.7.1, RFC 7323 and RFC 2018.</summary>
    internal void SendSyn(Instant now) =>
        Transmit(sender.Initial, State == TcpState.SynSent ? TcpFlags.Syn : TcpFlags.Syn | TcpFlags.Ack, 0, 0, now);

    internal void SendAck(Instant now)
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent) { layer.Why = default; return; }
        Transmit(sender.Next, TcpFlags.Ack, 0, 0, now);
    }

    private void SendWindowUpdate(Instant now)
    {
        // A read inside a receive batch (an inline continuation, TcpLayer.Batch.cs): the answer it is about
        // to write carries the new window; if it writes none, the batch's end sends it.
        if (layer.Batching) { OweAck(); return; }
        layer.Why = new(Diagnostics.FrameReason.TcpWindowUpdate);
        SendAck(now);
    }

    /// <summary>Sends new data and our FIN as far as the windows allow; an ACK alone if asked and nothing else went.</summary>
    public void Output(Instant now, bool forceAck = false)
    {
        bool sent = sender.Output(now);
        if (!sent && forceAck) SendAck(now);
    }

    internal void Transmit(SeqNumber sequence, TcpFlags flags, int offset, int length, Instant now) =>
        layer.SendSegment(this, sequence, flags, offset, length, now);

    /// <summary>Every segment but a RST carries RCV.NXT: the owed ACK is paid (RFC 7323 4.3: Last.ACK.sent).</summary>
    internal void AckSent(Instant now)
    {
        ackOwed = false;
        if (receiver.DelayedAckAt != Instant.MaxValue) layer.TraceTimer(this, TcpTimer.DelayedAck, TimerAction.Cancelled, now);
        receiver.DelayedAckAt = Instant.MaxValue;
        receiver.LastAckSent = receiver.Next;
    }

    /// <summary>An ACK owed at the end of a receive batch (TcpLayer.Batch.cs); nothing if one went out meanwhile.</summary>
    private bool ackOwed;

    /// <summary>The ACK goes at the end of the receive batch, unless a segment carries it first.</summary>
    private void OweAck()
    {
        if (ackOwed) return;
        ackOwed = true;
        layer.OweAck(this);
    }

    internal void SendOwedAck(Instant now)
    {
        if (!ackOwed) return;
        ackOwed = false;
        SendAck(now);
    }
}
