using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

// Sending (RFC 9293 3.8.6.2.1 sender SWS avoidance), retransmission (RFC 6298),
// zero-window probes (RFC 9293 3.8.6.1) and TIME-WAIT (3.10.7.4, eighth step).
public sealed partial class TcpConnection
{
    /// <summary>Sends new data and our FIN as far as the peer's window allows; an ACK alone if asked and nothing else went.</summary>
    internal void Output(Instant now, bool forceAck = false)
    {
        bool sent = false;
        if (retransmitPoint is not null && State.IsSynchronized())
        {
            // After a timeout, resend what is outstanding before anything new.
            Recover(now, limit: int.MaxValue);
            if (retransmitPoint is not null) { if (forceAck) SendAck(now); return; }
            sent = true;
        }
        if (State.IsSynchronized())
        {
            while (true)
            {
                int offset = SendNext - sendBufferSequence;          // bytes already sent
                int unsent = SendBuffer.Count - Math.Min(offset, SendBuffer.Count);
                int inFlight = SendNext - SendUnacknowledged;
                int usable = SendWindow - inFlight;
                bool finDue = finQueued && finSequence is null && unsent == 0;
                if (unsent > 0 && usable > 0)
                {
                    int length = Math.Min(Math.Min(unsent, usable), SendMss);
                    // Sender SWS avoidance: a small segment only if it is all we have, or nothing is in flight.
                    if (length < SendMss && length < unsent && inFlight > 0) break;
                    bool last = length == unsent;
                    var flags = TcpFlags.Ack | (last ? TcpFlags.Psh : TcpFlags.None);
                    if (last && finQueued && finSequence is null) { flags |= TcpFlags.Fin; }
                    layer.SendData(this, SendNext, flags, offset, length, now);
                    if (timing is null) timing = (SendNext, now);
                    SendNext += length;
                    if ((flags & TcpFlags.Fin) != 0) { finSequence = SendNext; SendNext += 1; }
                    if (SendMax < SendNext) SendMax = SendNext;
                    sent = true;
                    if (RetransmitAt == Instant.MaxValue) ArmRetransmit(now);
                    continue;
                }
                if (finDue)
                {
                    layer.SendControl(this, SendNext, TcpFlags.Fin | TcpFlags.Ack, withMss: false, now);
                    finSequence = SendNext;
                    SendNext += 1;
                    if (SendMax < SendNext) SendMax = SendNext;
                    sent = true;
                    if (RetransmitAt == Instant.MaxValue) ArmRetransmit(now);
                    continue;
                }
                // A closed window with data waiting and nothing in flight: the persist timer probes it.
                if (unsent > 0 && SendWindow == 0 && inFlight == 0 && PersistAt == Instant.MaxValue)
                {
                    persistBackoff = persistBackoff == TimeSpan.Zero ? Rto : Min(persistBackoff * 2, options.MaximumRto);
                    PersistAt = now + persistBackoff;
                }
                break;
            }
        }
        if (!sent && forceAck) SendAck(now);
    }

    internal void SendAck(Instant now)
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent) return;
        layer.SendControl(this, SendNext, TcpFlags.Ack, withMss: false, now);
    }

    private void ArmRetransmit(Instant now) => RetransmitAt = now + Rto;

    /// <summary>Fires whichever of this connection's timers are due.</summary>
    internal void OnTimers(Instant now)
    {
        if (TimeWaitAt <= now) { Terminate(now, Errno.Ok); return; }
        if (DelayedAckAt <= now) SendAck(now);
        if (RetransmitAt <= now) OnRetransmitTimeout(now);
        if (PersistAt <= now && State != TcpState.Closed) ProbeWindow(now);
    }

    /// <summary>RFC 6298 5.4-5.6: retransmit the earliest unacknowledged segment, back off, give up after a bound.</summary>
    private void OnRetransmitTimeout(Instant now)
    {
        int limit = State is TcpState.SynSent or TcpState.SynReceived ? options.MaxSynRetransmissions : options.MaxRetransmissions;
        if (++retransmissions > limit)
        {
            layer.Counters.Increment(Counter.TcpTimeouts);
            Abort(now, Errno.ETIMEDOUT);
            return;
        }
        layer.Counters.Increment(Counter.TcpRetransmissions);
        Rto = Min(Rto * 2, options.MaximumRto);
        timing = null; // Karn: no RTT sample from a retransmitted segment
        ArmRetransmit(now);
        switch (State)
        {
            case TcpState.SynSent:
                layer.SendControl(this, InitialSendSequence, TcpFlags.Syn, withMss: true, now);
                return;
            case TcpState.SynReceived:
                layer.SendControl(this, InitialSendSequence, TcpFlags.Syn | TcpFlags.Ack, withMss: true, now);
                return;
        }
        // Go back to SND.UNA (RFC 5681 3.1 after a timeout): resend from there, one segment now,
        // the rest as ACKs come. SND.NXT itself stays put, so that our ACKs stay acceptable.
        retransmitPoint = SendUnacknowledged;
        Recover(now, limit: 1);
    }

    /// <summary>Resends from the recovery point towards SND.NXT, within the window (at most <paramref name="limit"/> segments).</summary>
    private void Recover(Instant now, int limit)
    {
        while (retransmitPoint is { } point && limit-- > 0)
        {
            if (point < SendUnacknowledged) point = SendUnacknowledged;
            if (point >= SendNext) { retransmitPoint = null; return; }
            if (finSequence is { } fin && point == fin)
            {
                layer.SendControl(this, fin, TcpFlags.Fin | TcpFlags.Ack, withMss: false, now);
                retransmitPoint = fin + 1;
                continue;
            }
            int offset = point - sendBufferSequence;
            int end = finSequence is { } f ? f - sendBufferSequence : SendNext - sendBufferSequence;
            int window = Math.Max(SendWindow, SendMss) - (point - SendUnacknowledged); // one segment even into a closed window
            int length = Math.Min(Math.Min(end - offset, SendMss), window);
            if (length <= 0) return;
            var flags = TcpFlags.Ack;
            if (offset + length == SendBuffer.Count) flags |= TcpFlags.Psh; // as when first sent
            if (finSequence is { } ff && point + length == ff) { flags |= TcpFlags.Fin; }
            layer.SendData(this, point, flags, offset, length, now);
            retransmitPoint = point + length + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        }
    }

    /// <summary>RFC 5681 3.2: resend the segment at SND.UNA without waiting for the timer.</summary>
    private void FastRetransmit(Instant now)
    {
        layer.Counters.Increment(Counter.TcpFastRetransmissions);
        int offset = SendUnacknowledged - sendBufferSequence;
        int length = Math.Min(SendMss, Math.Min(SendBuffer.Count - Math.Max(offset, 0), SendMax - SendUnacknowledged));
        if (offset < 0 || length <= 0) return;
        timing = null;
        layer.SendData(this, SendUnacknowledged, TcpFlags.Ack | (offset + length == SendBuffer.Count ? TcpFlags.Psh : TcpFlags.None), offset, length, now);
    }

    /// <summary>RFC 9293 3.8.6.1: a zero window is probed with one byte, backing off, never giving up.</summary>
    private void ProbeWindow(Instant now)
    {
        PersistAt = Instant.MaxValue;
        int offset = SendNext - sendBufferSequence;
        if (SendWindow > 0 || offset >= SendBuffer.Count) { Output(now); return; }
        layer.SendData(this, SendNext, TcpFlags.Ack, offset, 1, now);
        if (SendMax < SendNext + 1) SendMax = SendNext + 1; // an ACK of the probe byte moves SND.NXT past it
        persistBackoff = Min(persistBackoff * 2, options.MaximumRto);
        PersistAt = now + persistBackoff;
    }

    /// <summary>RFC 6298 2.2-2.3: SRTT, RTTVAR and RTO from one measurement.</summary>
    private void SampleRtt(TimeSpan r)
    {
        if (SmoothedRtt is not { } srtt)
        {
            SmoothedRtt = r;
            RttVariance = r / 2;
        }
        else
        {
            RttVariance = RttVariance * 0.75 + (srtt - r).Duration() * 0.25;
            SmoothedRtt = srtt * 0.875 + r * 0.125;
        }
        var rto = SmoothedRtt.Value + Max(TimeSpan.FromMilliseconds(1), RttVariance * 4);
        Rto = Max(options.MinimumRto, Min(rto, options.MaximumRto));
    }

    private void EnterTimeWait(Instant now)
    {
        SetState(TcpState.TimeWait, now);
        RetransmitAt = PersistAt = Instant.MaxValue;
        RestartTimeWait(now);
    }

    private void RestartTimeWait(Instant now) => TimeWaitAt = now + options.MaximumSegmentLifetime * 2;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
