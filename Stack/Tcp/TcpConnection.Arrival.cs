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
        var segOptions = segment.Options;
        if (State == TcpState.SynSent) { SynSentArrives(segment, segOptions, now); return; }
        OtherStatesArrive(segment, segOptions, now);
    }

    // RFC 9293 3.10.7.3: If the state is SYN-SENT.
    private void SynSentArrives(in TcpSegment seg, in TcpOptionsRepr segOptions, Instant now)
    {
        var flags = seg.Flags;
        bool hasAck = (flags & TcpFlags.Ack) != 0;

        // First, check the ACK bit.
        if (hasAck && (seg.Acknowledgment <= sender.Initial || seg.Acknowledgment > sender.Next))
        {
            if ((flags & TcpFlags.Rst) == 0) { layer.Why = new(FrameReason.TcpRstBadAck); layer.SendReset(seg.Acknowledgment, null, TcpFlags.Rst, Local, Remote!.Value, now); }
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

        int synWindow = receiver.Window; // what our SYN offered: RCV.WND until our next segment says more
        receiver.Initial = seg.Sequence;
        receiver.Next = seg.Sequence + 1;
        receiver.AdvertisedEdge = receiver.Next + synWindow;
        Negotiate(segOptions, now);
        if (ackAcceptable)
        {
            sender.OnAck(seg, segOptions, now);
            sender.SetWindow(seg.Window, seg.Sequence, seg.Acknowledgment, now); // RFC 7323 2.2: not scaled in a SYN
        }

        if (sender.Unacknowledged > sender.Initial)
        {
            // Our SYN has been ACKed: ESTABLISHED, and <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; any text
            // or FIN continues at the sixth step.
            Established(now);
            layer.Counters.Increment(Counter.TcpActiveOpens);
            if (seg.Payload.Length == 0 && (flags & TcpFlags.Fin) == 0) { Output(now, forceAck: true); return; }
            // With text or a FIN, one ACK at once covers the SYN and what followed it (not two).
            ProcessTextAndFin(seg, seg.Sequence + 1, seg.Payload, now, ackAtOnce: true);
            Output(now);
        }
        else
        {
            // Simultaneous open: SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; text waits.
            sender.SetWindow(seg.Window, seg.Sequence, seg.Acknowledgment, now);
            if (seg.Payload.Length > 0) synText = seg.Payload.ToArray();
            SetState(TcpState.SynReceived, now);
            SendSyn(now);
        }
    }

    // RFC 9293 3.10.7.4: Otherwise (SYN-RECEIVED and the synchronized states).
    private void OtherStatesArrive(in TcpSegment seg, in TcpOptionsRepr segOptions, Instant now)
    {
        var flags = seg.Flags;
        var payload = seg.Payload;
        var sequence = seg.Sequence;
        int length = payload.Length + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);

        // A retransmitted SYN in SYN-RECEIVED means our SYN,ACK was lost: send it again (Linux tcp_check_req).
        if (State == TcpState.SynReceived && (flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Syn && sequence == receiver.Initial)
        {
            SendSyn(now);
            return;
        }

        // RFC 7323 5.3 R1: PAWS drops an old duplicate before anything else, with an ACK.
        if (PawsRejects(segOptions, flags, now))
        {
            layer.Drop(DropReason.TcpPawsRejected, now);
            AnswerOutOfWindow(length, now);
            return;
        }

        // First, check the sequence number: the four cases of acceptability. With a zero window a
        // segment at RCV.NXT is not acceptable for its text, but its ACK, URG and RST are still processed.
        bool zeroWindowProbe = receiver.Window == 0 && length > 0 && sequence == receiver.Next;
        if (!IsAcceptable(sequence, length) && !zeroWindowProbe)
        {
            layer.Drop(DropReason.TcpNotAcceptable, now);
            if ((flags & TcpFlags.Rst) == 0)
            {
                // RFC 2883: a duplicate is D-SACKed; not an old SYN (RFC 5961 4.2 answers it with a plain
                // challenge ACK) nor from TIME-WAIT, whose ACKs carry no SACK blocks (both as Linux).
                if (SackEnabled && length > 0 && sequence + length <= receiver.Next && (flags & TcpFlags.Syn) == 0 && State != TcpState.TimeWait)
                    receiver.OutOfOrder.ReportDuplicate(sequence, sequence + length);
                AnswerOutOfWindow(length, now);
                if (State == TcpState.TimeWait && (flags & TcpFlags.Ack) != 0) RestartTimeWait(now); // as Linux
            }
            return;
        }
        lastHeard = now;
        keepAliveProbes = 0;

        // Second, check the RST bit (RFC 5961 3.2: exact match resets, in-window gets a challenge ACK).
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (sequence != receiver.Next) { ChallengeAck(now); return; }
            if (State == TcpState.SynReceived && Parent is not null) { Terminate(now, Errno.Ok); return; } // back to LISTEN: the listener lives on
            // The error the application sees is Linux's (tcp_reset): "connection refused" for an active
            // open still in SYN-RECEIVED (RFC 9293 3.10.7.4), EPIPE in CLOSE-WAIT, ECONNRESET in every
            // other state, CLOSING and LAST-ACK too, where RFC 9293 names no signal; none from TIME-WAIT.
            Terminate(now, State switch
            {
                TcpState.SynReceived => Errno.ECONNREFUSED,
                TcpState.CloseWait => Errno.EPIPE,
                TcpState.TimeWait => Errno.Ok,
                _ => Errno.ECONNRESET,
            });
            return;
        }

        // Third (security/compartment) does not apply to us. Fourth, check the SYN bit.
        if ((flags & TcpFlags.Syn) != 0)
        {
            if (State == TcpState.SynReceived && Parent is not null)
            {
                // A passive open returns to LISTEN (RFC 9293 3.10.7.4); as Linux's embryonic reset, the new SYN is refused.
                layer.Why = new(FrameReason.TcpRstNewSynInSynReceived);
                layer.SendReset(new SeqNumber(0), sequence + length, TcpFlags.Rst | TcpFlags.Ack, Local, Remote!.Value, now);
                Terminate(now, Errno.Ok);
                return;
            }
            ChallengeAck(now); // RFC 5961 4.2: any SYN in a synchronized state gets a challenge ACK
            return;
        }

        // Fifth, check the ACK field.
        if ((flags & TcpFlags.Ack) == 0) { layer.Drop(DropReason.TcpNoAck, now); return; }
        var ack = seg.Acknowledgment;

        if (State == TcpState.SynReceived)
        {
            if (!(sender.Unacknowledged < ack && ack <= sender.Max))
            {
                layer.Why = new(FrameReason.TcpRstBadAck);
                layer.SendReset(ack, null, TcpFlags.Rst, Local, Remote!.Value, now);
                layer.Drop(DropReason.TcpBadAck, now);
                return;
            }
            sender.SetWindow(seg.Window << sender.WindowShift, sequence, ack, now);
            Established(now);
            layer.Counters.Increment(Counter.TcpPassiveOpens);
            if (Parent is { } parent)
            {
                (parent.acceptQueue ??= new()).Enqueue(this);
                parent.Signal?.Invoke();
            }
        }

        // RFC 5961 5.2: acceptable if SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.MAX.
        if (ack > sender.Max)
        {
            layer.Drop(DropReason.TcpBadAck, now);
            SendAck(now);
            return;
        }
        if (ack < sender.Unacknowledged - Math.Max(sender.MaxWindow, 1))
        {
            layer.Drop(DropReason.TcpBadAck, now);
            ChallengeAck(now);
            return;
        }
        // An old ACK (SEG.ACK < SND.UNA) is ignored; from SND.UNA on it may acknowledge data, count as
        // a duplicate and update the window (the window only then: SND.UNA =< SEG.ACK). TS.Recent
        // (RFC 7323 4.3) is taken only from such a segment, as Linux (tcp_ack's FLAG_UPDATE_TS_RECENT):
        // an ACK of data never sent must not move the timestamp our ACKs echo.
        if (ack >= sender.Unacknowledged)
        {
            UpdateTimestampRecent(segOptions, sequence, now);
            sender.OnAck(seg, segOptions, now);
        }

        bool ourFinAcked = sender.FinSequence is { } fin && sender.Unacknowledged > fin;
        switch (State)
        {
            case TcpState.FinWait1 when ourFinAcked: SetState(TcpState.FinWait2, now); break;
            case TcpState.Closing when ourFinAcked: EnterTimeWait(now); return;
            case TcpState.LastAck when ourFinAcked: Terminate(now, Errno.Ok); return;
            case TcpState.TimeWait:
                // A retransmitted FIN (or anything with text) is acknowledged, and so is a bare ACK that
                // is not at RCV.NXT (at most twice a second); only a bare ACK at RCV.NXT is taken
                // silently. Every segment restarts the 2 MSL timeout (Linux tcp_timewait_state_process).
                if (length > 0) SendAck(now);
                else if (sequence != receiver.Next) AnswerOutOfWindow(0, now);
                RestartTimeWait(now);
                return;
        }

        // RFC 1122 4.2.2.13: new data after CLOSE (or SHUT_RD) while our FIN is on its way gets a
        // RST and the connection is gone (Linux: TCPAbortOnData, RST with SEQ = SEG.ACK).
        if (ReadShutdown && payload.Length > 0 && sequence + payload.Length > receiver.Next
            && State is TcpState.FinWait1 or TcpState.FinWait2 or TcpState.Closing or TcpState.LastAck)
        {
            layer.Why = new(FrameReason.TcpRstDataAfterClose);
            layer.SendReset(ack, null, TcpFlags.Rst, Local, Remote!.Value, now);
            Terminate(now, Errno.ECONNRESET);
            return;
        }

        // Sixth, the URG bit: RCV.UP moves and the urgent byte is noted (TcpConnection.Urgent.cs).
        if (State.CanReceiveText()) ProcessUrgent(seg, sequence, payload);
        // Seventh, process the segment text; eighth, check the FIN bit.
        ProcessTextAndFin(seg, sequence, zeroWindowProbe ? default : payload, now, refusedText: zeroWindowProbe && payload.Length > 0);
        Output(now);
    }

    /// <summary>RFC 9293 3.10.7.4, the four cases of segment acceptability against RCV.NXT and RCV.WND.</summary>
    private bool IsAcceptable(SeqNumber sequence, int length)
    {
        int window = receiver.Window;
        var next = receiver.Next;
        bool startsInside = next <= sequence && sequence < next + window;
        if (length == 0) return window == 0 ? sequence == next : startsInside;
        if (window == 0) return false;
        var last = sequence + (length - 1);
        return startsInside || (next <= last && last < next + window);
    }

    /// <summary>
    /// An unacceptable segment gets an ACK; a pure ACK at most twice a second, so that two confused
    /// ends cannot ping-pong forever (Linux tcp_oow_rate_limited); data always gets its ACK.
    /// </summary>
    private void AnswerOutOfWindow(int length, Instant now)
    {
        if (length == 0 && lastOutOfWindowAck is { } last && now - last < TimeSpan.FromMilliseconds(500)) return;
        if (length == 0) lastOutOfWindowAck = now;
        SendAck(now);
    }

    private void ProcessTextAndFin(in TcpSegment seg, SeqNumber sequence, ReadOnlySpan<byte> payload, Instant now, bool refusedText = false, bool ackAtOnce = false)
    {
        bool fin = (seg.Flags & TcpFlags.Fin) != 0 && !refusedText;
        bool needAck = refusedText;
        bool mayDelay = false;
        // In order and nothing out of order around it: its ACK may wait for the end of a read batch.
        var nextBefore = receiver.Next;
        bool inOrder = !refusedText && receiver.OutOfOrder.Count == 0;

        if (payload.Length > 0 && State.CanReceiveText())
        {
            mayDelay = receiver.Accept(sequence, payload, ReceiveMss, out bool truncated, now);
            inOrder &= !truncated && receiver.Next > nextBefore && receiver.OutOfOrder.Count == 0;
            if (truncated) fin = false; // the FIN lies beyond what we took
            needAck = true;
            Signal?.Invoke();
        }

        if (payload.Length == 0) inOrder &= sequence == nextBefore; // a FIN alone: at RCV.NXT, not beyond it
        if (fin && State is not (TcpState.Closed or TcpState.Listen or TcpState.SynSent))
        {
            peerFin ??= sequence + payload.Length;
            needAck = true; // a FIN beyond RCV.NXT is out of order: a duplicate ACK at once (RFC 5681 4.2)
        }
        if (peerFin is { } pf && pf == receiver.Next && !FinReceived)
        {
            // Eighth, the FIN bit: in order, it ends the peer's stream.
            receiver.Next += 1;
            FinReceived = true;
            needAck = true;
            switch (State)
            {
                case TcpState.SynReceived:
                case TcpState.Established: SetState(TcpState.CloseWait, now); break;
                case TcpState.FinWait1:
                    if (sender.FinSequence is { } f && sender.Unacknowledged > f) EnterTimeWait(now);
                    else SetState(TcpState.Closing, now);
                    break;
                case TcpState.FinWait2: EnterTimeWait(now); break;
            }
            Signal?.Invoke();
            mayDelay = false;
        }
        if (!needAck) return;
        // Every second full-sized segment is acknowledged at once; a lone one within 40 ms (RFC 1122 4.2.3.2).
        if (mayDelay && !ackAtOnce && receiver.DelayAck(now)) { layer.TraceTimer(this, TcpTimer.DelayedAck, TimerAction.Armed, now, receiver.DelayedAckAt - now); return; }
        // In a batch of frames from one read, in-order text and FINs are acknowledged once, at the batch's end,
        // by the application's answer if it gave one meanwhile (TcpLayer.Batch.cs).
        if (inOrder && !ackAtOnce && layer.Batching && receiver.Next - receiver.LastAckSent < TcpLayer.BatchAckLimit) { OweAck(); return; }
        SendAck(now);
    }

    /// <summary>RFC 5961 7: an ACK that tells a blind attacker nothing, at most N per second.</summary>
    private void ChallengeAck(Instant now)
    {
        if (!(challengeAcks ??= new TokenBucket(options.ChallengeAcksPerSecond, options.ChallengeAcksPerSecond)).TryTake(now)) return;
        layer.Counters.Increment(Counter.TcpChallengeAcks);
        layer.Why = new(FrameReason.TcpChallengeAck);
        SendAck(now);
    }
}
