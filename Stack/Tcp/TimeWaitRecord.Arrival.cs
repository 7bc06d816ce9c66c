using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tcp;

// RFC 9293 3.10.7.4 for a record in TIME-WAIT: the steps of SEGMENT ARRIVES that can still
// matter, in the order and with the answers of TcpConnection.Arrival.cs (Linux's
// tcp_timewait_state_process decides the same way).
public sealed partial class TimeWaitRecord
{
    private static readonly TimeSpan PawsIdleLimit = TimeSpan.FromDays(24); // RFC 7323 5.5

    internal void SegmentArrives(TcpLayer layer, in TcpSegment seg, Instant now)
    {
        var flags = seg.Flags;
        var sequence = seg.Sequence;
        var segOptions = seg.Options;
        int length = seg.Payload.Length + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);

        // RFC 7323 5.3 R1: PAWS drops an old duplicate before anything else, with an ACK.
        if (PawsRejects(segOptions, flags, now))
        {
            layer.Drop(DropReason.TcpPawsRejected, now);
            AnswerOutOfWindow(layer, length, now);
            return;
        }

        // First, the sequence number. A retransmitted FIN lies below RCV.NXT: it is acknowledged here,
        // and any ACK restarts the 2 MSL timeout (as Linux).
        bool zeroWindowProbe = ReceiveWindow == 0 && length > 0 && sequence == ReceiveNext;
        if (!IsAcceptable(sequence, length) && !zeroWindowProbe)
        {
            layer.Drop(DropReason.TcpNotAcceptable, now);
            if ((flags & TcpFlags.Rst) != 0) return;
            AnswerOutOfWindow(layer, length, now);
            if ((flags & TcpFlags.Ack) != 0) layer.RestartTimeWait(this, now);
            return;
        }

        // Second, the RST bit (RFC 5961 3.2): an exact one ends TIME-WAIT (Linux: tw_rfc1337 = 0, RFC 1337's
        // hazard accepted), one elsewhere in the window gets a challenge ACK.
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (sequence != ReceiveNext) { ChallengeAck(layer, now); return; }
            layer.EndTimeWait(this, StateChangeCause.ResetReceived, now);
            return;
        }

        // Fourth, the SYN bit (one that could not reopen the pair, TcpLayer.Receive): RFC 5961 4.2's challenge ACK.
        if ((flags & TcpFlags.Syn) != 0) { ChallengeAck(layer, now); return; }

        // Fifth, the ACK field (RFC 5961 5.2: SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.MAX; SND.UNA = SND.MAX = SND.NXT here).
        if ((flags & TcpFlags.Ack) == 0) { layer.Drop(DropReason.TcpNoAck, now); return; }
        var ack = seg.Acknowledgment;
        if (ack > SendNext) { layer.Drop(DropReason.TcpBadAck, now); layer.SendTimeWaitAck(this, now); return; }
        if (ack < SendNext - Math.Max(MaxSendWindow, 1)) { layer.Drop(DropReason.TcpBadAck, now); ChallengeAck(layer, now); return; }
        if (ack >= SendNext) UpdateTimestampRecent(segOptions, sequence, now);

        // Text or a FIN is acknowledged, and so is a bare ACK not at RCV.NXT (at most twice a second);
        // a bare ACK at RCV.NXT is taken silently. Every segment restarts the 2 MSL timeout.
        if (length > 0) layer.SendTimeWaitAck(this, now);
        else if (sequence != ReceiveNext) AnswerOutOfWindow(layer, 0, now);
        layer.RestartTimeWait(this, now);
    }

    /// <summary>
    /// RFC 1122 4.2.2.13 (RFC 6191 with timestamps): a bare SYN may open a new incarnation if it
    /// cannot be an old duplicate: its TSval is newer than TS.Recent or, without timestamps, its
    /// sequence number lies beyond RCV.NXT. The same test as Linux's.
    /// </summary>
    internal bool AcceptsNewSyn(in TcpSegment seg, Instant now)
    {
        if ((seg.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) != TcpFlags.Syn) return false;
        var segOptions = seg.Options;
        if (PawsRejects(segOptions, seg.Flags, now)) return false;
        return seg.Sequence > ReceiveNext
            || (TimestampsEnabled && segOptions.Timestamps is { } ts && unchecked((int)(ts.Value - TimestampRecent)) > 0);
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

    /// <summary>RFC 7323 5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is an old duplicate.</summary>
    private bool PawsRejects(in TcpOptionsRepr segOptions, TcpFlags flags, Instant now) =>
        TimestampsEnabled && (flags & TcpFlags.Rst) == 0 && segOptions.Timestamps is { } ts
        && unchecked((int)(ts.Value - TimestampRecent)) < 0 && now - TimestampRecentAt < PawsIdleLimit;

    /// <summary>RFC 7323 4.3 (2): TSval from a segment that covers Last.ACK.sent (RCV.NXT: every ACK of ours carried it) and is not older.</summary>
    private void UpdateTimestampRecent(in TcpOptionsRepr segOptions, SeqNumber sequence, Instant now)
    {
        if (!TimestampsEnabled || segOptions.Timestamps is not { } ts) return;
        if (unchecked((int)(ts.Value - TimestampRecent)) >= 0 && sequence <= ReceiveNext)
        {
            TimestampRecent = ts.Value;
            TimestampRecentAt = now;
        }
    }

    /// <summary>An unacceptable segment gets an ACK; a pure ACK at most twice a second (Linux tcp_oow_rate_limited).</summary>
    private void AnswerOutOfWindow(TcpLayer layer, int length, Instant now)
    {
        if (length == 0 && LastOutOfWindowAck is { } last && now - last < TimeSpan.FromMilliseconds(500)) return;
        if (length == 0) LastOutOfWindowAck = now;
        layer.SendTimeWaitAck(this, now);
    }

    /// <summary>RFC 5961 7: a challenge ACK, within the records' shared rate limit.</summary>
    private void ChallengeAck(TcpLayer layer, Instant now)
    {
        if (!layer.TimeWaitChallengeAcks.TryTake(now)) return;
        layer.Counters.Increment(Counter.TcpChallengeAcks);
        layer.Why = new(FrameReason.TcpChallengeAck);
        layer.SendTimeWaitAck(this, now);
    }
}
