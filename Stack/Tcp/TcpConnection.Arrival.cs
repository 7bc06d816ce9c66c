using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

// RFC 9293 3.10.7 "SEGMENT ARRIVES", read top to bottom beside the RFC.
public sealed partial class TcpConnection
{
    internal void SegmentArrives(in TcpSegment segment, Instant now)
    {
        if (State == TcpState.SynSent) { SynSentArrives(segment, now); return; }
        OtherStatesArrive(segment, now);
    }

    // RFC 9293 3.10.7.3: If the state is SYN-SENT.
    private void SynSentArrives(in TcpSegment seg, Instant now)
    {
        var flags = seg.Flags;
        bool hasAck = (flags & TcpFlags.Ack) != 0;

        // First, check the ACK bit.
        if (hasAck && (seg.Acknowledgment <= InitialSendSequence || seg.Acknowledgment > SendNext))
        {
            if ((flags & TcpFlags.Rst) == 0) layer.SendReset(seg.Acknowledgment, null, TcpFlags.Rst, Local, Remote!.Value, now);
            layer.Drop(DropReason.TcpBadAck, now);
            return;
        }
        bool ackAcceptable = hasAck; // SND.UNA < SEG.ACK =< SND.NXT, checked above

        // Second, check the RST bit (RFC 5961 3.2: only with an acceptable ACK).
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (ackAcceptable) Terminate(now, Errno.ECONNREFUSED);
            else layer.Drop(DropReason.TcpNotAcceptable, now);
            return;
        }

        // Third (security) does not apply. Fourth, check the SYN bit.
        if ((flags & TcpFlags.Syn) == 0) { layer.Drop(DropReason.TcpNoAck, now); return; }

        InitialReceiveSequence = seg.Sequence;
        ReceiveNext = seg.Sequence + 1;
        if (seg.Options.MaximumSegmentSize is ushort mss) SendMss = Math.Max((int)mss, 64);
        if (ackAcceptable)
        {
            AcknowledgeTo(seg.Acknowledgment, now);
            UpdateWindow(seg, force: true);
        }

        if (SendUnacknowledged > InitialSendSequence)
        {
            // Our SYN has been ACKed: ESTABLISHED, and <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
            SetState(finQueued ? TcpState.FinWait1 : TcpState.Established, now);
            layer.Counters.Increment(Counter.TcpActiveOpens);
            Output(now, forceAck: true);
            ProcessTextAndFin(seg, seg.Sequence + 1, seg.Payload, now);
        }
        else
        {
            // Simultaneous open: SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
            UpdateWindow(seg, force: true);
            SetState(TcpState.SynReceived, now);
            layer.SendControl(this, InitialSendSequence, TcpFlags.Syn | TcpFlags.Ack, withMss: true, now);
            ArmRetransmit(now);
        }
    }

    // RFC 9293 3.10.7.4: Otherwise (SYN-RECEIVED and the synchronized states).
    private void OtherStatesArrive(in TcpSegment seg, Instant now)
    {
        var flags = seg.Flags;
        var payload = seg.Payload;
        var sequence = seg.Sequence;
        int length = payload.Length + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);

        // First, check the sequence number: the four cases of acceptability.
        if (!IsAcceptable(sequence, length))
        {
            layer.Drop(DropReason.TcpNotAcceptable, now);
            // A pure ACK out of window is answered at most twice a second, so that two confused
            // ends cannot ping-pong forever (Linux tcp_oow_rate_limited); data always gets its ACK.
            if ((flags & TcpFlags.Rst) == 0 && (length > 0 || lastOutOfWindowAck is not { } last || now - last >= TimeSpan.FromMilliseconds(500)))
            {
                if (length == 0) lastOutOfWindowAck = now;
                SendAck(now);
            }
            if (State == TcpState.TimeWait && (flags & TcpFlags.Fin) != 0) RestartTimeWait(now);
            return;
        }

        // Second, check the RST bit (RFC 5961 3.2: exact match resets, in-window gets a challenge ACK).
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (sequence != ReceiveNext) { ChallengeAck(now); return; }
            if (State == TcpState.SynReceived && Parent is not null) { Terminate(now, Errno.Ok); return; } // back to LISTEN: the listener lives on
            Terminate(now, State is TcpState.SynReceived ? Errno.ECONNREFUSED : State is TcpState.Closing or TcpState.LastAck or TcpState.TimeWait ? Errno.Ok : Errno.ECONNRESET);
            return;
        }

        // Third (security/compartment) does not apply to us. Fourth, check the SYN bit:
        // RFC 5961 4.2, any SYN in a synchronized state (or SYN-RECEIVED) gets a challenge ACK.
        if ((flags & TcpFlags.Syn) != 0)
        {
            if (State == TcpState.SynReceived && sequence == InitialReceiveSequence && (flags & TcpFlags.Ack) == 0)
            {
                // A retransmitted SYN: our SYN,ACK was lost; send it again.
                layer.SendControl(this, InitialSendSequence, TcpFlags.Syn | TcpFlags.Ack, withMss: true, now);
                return;
            }
            ChallengeAck(now);
            return;
        }

        // Fifth, check the ACK field.
        if ((flags & TcpFlags.Ack) == 0) { layer.Drop(DropReason.TcpNoAck, now); return; }
        var ack = seg.Acknowledgment;

        if (State == TcpState.SynReceived)
        {
            if (!(SendUnacknowledged < ack && ack <= SendMax))
            {
                layer.SendReset(ack, null, TcpFlags.Rst, Local, Remote!.Value, now);
                layer.Drop(DropReason.TcpBadAck, now);
                return;
            }
            SetState(TcpState.Established, now);
            layer.Counters.Increment(Counter.TcpPassiveOpens);
            UpdateWindow(seg, force: true);
            if (finQueued) SetState(TcpState.FinWait1, now);
            if (Parent is { } parent)
            {
                parent.acceptQueue.Enqueue(this);
                parent.Signal?.Invoke();
            }
        }

        // RFC 5961 5.2: acceptable if SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.MAX.
        if (ack > SendMax)
        {
            layer.Drop(DropReason.TcpBadAck, now);
            SendAck(now);
            return;
        }
        if (ack < SendUnacknowledged - Math.Max(MaxSendWindow, 1))
        {
            layer.Drop(DropReason.TcpBadAck, now);
            ChallengeAck(now);
            return;
        }

        bool advanced = ack > SendUnacknowledged;
        if (advanced)
        {
            AcknowledgeTo(ack, now);
            duplicateAcks = 0;
        }
        else if (ack == SendUnacknowledged && payload.Length == 0 && seg.Window == SendWindow && SendMax > SendUnacknowledged && (flags & TcpFlags.Fin) == 0)
        {
            // RFC 5681 3.2: the third duplicate ACK triggers fast retransmit.
            if (++duplicateAcks == 3) FastRetransmit(now);
        }
        UpdateWindow(seg, force: false);

        bool ourFinAcked = finSequence is { } fin && SendUnacknowledged > fin;
        switch (State)
        {
            case TcpState.FinWait1 when ourFinAcked: SetState(TcpState.FinWait2, now); break;
            case TcpState.Closing when ourFinAcked: EnterTimeWait(now); return;
            case TcpState.LastAck when ourFinAcked: Terminate(now, Errno.Ok); return;
            case TcpState.TimeWait:
                // Only a retransmitted FIN can arrive here: acknowledge it and restart the 2 MSL timeout.
                if ((flags & TcpFlags.Fin) != 0) { SendAck(now); RestartTimeWait(now); }
                return;
        }

        // Sixth, the URG bit: urgent data is delivered in line, like any other (RFC 6093).
        // Seventh, process the segment text; eighth, check the FIN bit.
        ProcessTextAndFin(seg, sequence, payload, now);
        Output(now);
    }

    /// <summary>RFC 9293 3.10.7.4, the four cases of segment acceptability against RCV.NXT and RCV.WND.</summary>
    private bool IsAcceptable(SeqNumber sequence, int length)
    {
        int window = ReceiveWindow;
        bool startsInside = ReceiveNext <= sequence && sequence < ReceiveNext + window;
        if (length == 0) return window == 0 ? sequence == ReceiveNext : startsInside;
        if (window == 0) return false;
        var last = sequence + (length - 1);
        return startsInside || (ReceiveNext <= last && last < ReceiveNext + window);
    }

    private void ProcessTextAndFin(in TcpSegment seg, SeqNumber sequence, ReadOnlySpan<byte> payload, Instant now)
    {
        bool fin = (seg.Flags & TcpFlags.Fin) != 0;
        var finAt = sequence + payload.Length;
        bool needAck = false;
        bool mayDelay = false;

        if (payload.Length > 0 && State.CanReceiveText())
        {
            // Trim what was already received and what lies beyond the window.
            int skip = ReceiveNext - sequence;
            if (skip > 0) { payload = payload[Math.Min(skip, payload.Length)..]; sequence = ReceiveNext; }
            int room = ReceiveNext + ReceiveWindow - sequence;
            if (payload.Length > room) { payload = payload[..Math.Max(room, 0)]; fin = false; }

            if (payload.Length > 0)
            {
                if (sequence == ReceiveNext)
                {
                    if (!ReadShutdown) ReceiveBuffer.Write(payload);
                    ReceiveNext += payload.Length;
                    // RFC 1122 4.2.3.2: a full-sized, in-order segment that fills no hole may wait for its ACK.
                    mayDelay = outOfOrder.Count == 0 && payload.Length >= layer.OurMss;
                    DrainOutOfOrder();
                    Signal?.Invoke();
                }
                else StoreOutOfOrder(sequence, payload, now);
            }
            needAck = true;
        }

        if (fin && State is not (TcpState.Closed or TcpState.Listen or TcpState.SynSent)) peerFin ??= finAt;
        if (peerFin is { } pf && pf == ReceiveNext && !FinReceived)
        {
            // Eighth, the FIN bit: in order, it ends the peer's stream.
            ReceiveNext += 1;
            FinReceived = true;
            needAck = true;
            switch (State)
            {
                case TcpState.SynReceived:
                case TcpState.Established: SetState(TcpState.CloseWait, now); break;
                case TcpState.FinWait1:
                    if (finSequence is { } f && SendUnacknowledged > f) EnterTimeWait(now);
                    else SetState(TcpState.Closing, now);
                    break;
                case TcpState.FinWait2: EnterTimeWait(now); break;
            }
            Signal?.Invoke();
            mayDelay = false;
        }
        if (!needAck) return;
        // Every second full-sized segment is acknowledged at once; a lone one within 40 ms (RFC 1122 4.2.3.2).
        if (mayDelay && DelayedAckAt == Instant.MaxValue) { DelayedAckAt = now + DelayedAckTimeout; return; }
        SendAck(now);
    }

    private void StoreOutOfOrder(SeqNumber sequence, ReadOnlySpan<byte> data, Instant now)
    {
        if (outOfOrder.Count >= options.MaxOutOfOrderSegments) { layer.Drop(DropReason.TcpOutOfOrderOverflow, now); return; }
        int index = 0;
        while (index < outOfOrder.Count && outOfOrder[index].Sequence < sequence) index++;
        if (index < outOfOrder.Count && outOfOrder[index].Sequence == sequence && outOfOrder[index].Data.Length >= data.Length) return; // a duplicate
        outOfOrder.Insert(index, (sequence, data.ToArray()));
    }

    /// <summary>Moves stored segments that now continue the stream into the receive buffer, trimming overlaps.</summary>
    private void DrainOutOfOrder()
    {
        while (outOfOrder.Count > 0)
        {
            var (sequence, data) = outOfOrder[0];
            if (sequence > ReceiveNext) return;
            outOfOrder.RemoveAt(0);
            int skip = ReceiveNext - sequence;
            if (skip >= data.Length) continue;
            var fresh = data.AsSpan(skip);
            int room = ReceiveBuffer.Free;
            if (fresh.Length > room) fresh = fresh[..room];
            if (!ReadShutdown) ReceiveBuffer.Write(fresh);
            ReceiveNext += fresh.Length;
        }
    }

    /// <summary>SND.UNA advances: drop acknowledged bytes, take an RTT sample (Karn), rearm or stop the timer.</summary>
    private void AcknowledgeTo(SeqNumber ack, Instant now)
    {
        SendUnacknowledged = ack;
        if (SendNext < ack) SendNext = ack;
        int ackedBytes = Math.Clamp(ack - sendBufferSequence, 0, SendBuffer.Count);
        SendBuffer.Discard(ackedBytes);
        sendBufferSequence += ackedBytes;
        if (timing is { } t && ack > t.Sequence)
        {
            SampleRtt(now - t.SentAt);
            timing = null;
        }
        retransmissions = 0;
        if (SendUnacknowledged == SendMax) RetransmitAt = Instant.MaxValue;
        else ArmRetransmit(now);
        if (ackedBytes > 0) Signal?.Invoke();
    }

    /// <summary>RFC 9293 3.10.7.4: update SND.WND only from a segment newer than the last update.</summary>
    private void UpdateWindow(in TcpSegment seg, bool force)
    {
        if (force || SendWl1 < seg.Sequence || (SendWl1 == seg.Sequence && SendWl2 <= seg.Acknowledgment))
        {
            SendWindow = seg.Window;
            MaxSendWindow = Math.Max(MaxSendWindow, SendWindow);
            SendWl1 = seg.Sequence;
            SendWl2 = seg.Acknowledgment;
            if (SendWindow > 0) { PersistAt = Instant.MaxValue; persistBackoff = TimeSpan.Zero; }
        }
    }

    /// <summary>RFC 5961 7: an ACK that tells a blind attacker nothing, at most N per second.</summary>
    private void ChallengeAck(Instant now)
    {
        if (!challengeAcks.TryTake(now)) return;
        layer.Counters.Increment(Counter.TcpChallengeAcks);
        SendAck(now);
    }
}
