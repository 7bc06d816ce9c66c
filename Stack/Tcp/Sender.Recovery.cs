using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

// Acknowledgments, round-trip times (RFC 6298, RFC 7323), retransmission after a timeout (RFC 5681 3.1),
// fast retransmit and recovery: NewReno without SACK (RFC 6582), RFC 6675 with it.
internal sealed partial class Sender
{
    private (SeqNumber Sequence, Instant SentAt)? timing; // the segment being timed (no timestamps)
    /// <summary>Retransmission timeouts in a row for the same data.</summary>
    public int Retransmissions { get; private set; }
    public int TotalRetransmissions { get; private set; }
    public bool SynRetransmitted { get; private set; }
    private int duplicateAcks;
    private SeqNumber? goBackN;          // after a timeout: where the resend continues
    private bool inRecovery;
    private SeqNumber recoveryPoint;     // RFC 6675 RecoveryPoint, RFC 6582 recover: SND.MAX when recovery began
    private SeqNumber recoverGuard;      // no new fast recovery until SND.UNA reaches this (RFC 6582 3.2, step 1)
    private SeqNumber highRetransmitted; // RFC 6675 HighRxt

    public bool InRecovery => inRecovery;

    /// <summary>Our SYN (or SYN,ACK) went out: time it and start its retransmission timer.</summary>
    public void StartSynTimer(Instant now)
    {
        timing = (Initial, now);
        ArmRetransmit(now);
    }

    /// <summary>
    /// A passive open's sender whose SYN,ACK is unanswered and that holds nothing else: what a
    /// SynReceivedRecord keeps is all there is (the SYN,ACK's timing, its timeouts, the timer).
    /// </summary>
    public bool HoldsOnlySynAck =>
        Unacknowledged == Initial && Next == Initial + 1 && Max == Next && Buffer.Count == 0 && !FinQueued && FinSequence is null
        && RetransmitAt != Instant.MaxValue && PersistAt == Instant.MaxValue && ProbesOut == 0 && WindowProbes == 0 && !Rtt.HasSample && Scoreboard.Count == 0
        && TotalRetransmissions == Retransmissions && SynRetransmitted == (Retransmissions > 0) && Retransmissions <= byte.MaxValue
        && goBackN is null && !inRecovery && duplicateAcks == 0 && (timing is null || timing.Value.Sequence == Initial);

    /// <summary>When the SYN,ACK being timed went out; MaxValue when none is (it was resent: Karn).</summary>
    public Instant SynAckSentAt => timing is { } t ? t.SentAt : Instant.MaxValue;

    /// <summary>A record's SYN,ACK state back on a fresh sender: the timeouts (and the RTO they doubled), the timing, the timer.</summary>
    public void RestoreSynAck(int retransmissions, Instant sentAt, Instant retransmitAt)
    {
        Retransmissions = TotalRetransmissions = retransmissions;
        SynRetransmitted = retransmissions > 0;
        for (int i = 0; i < retransmissions; i++) Rtt.BackOff();
        tracedRto = Rtt.Rto;
        timing = sentAt == Instant.MaxValue ? null : (Initial, sentAt);
        RetransmitAt = retransmitAt;
    }

    /// <summary>
    /// RFC 9293 3.10.7.4, fifth step, for an ACK with SND.UNA =&lt; SEG.ACK =&lt; SND.MAX: SACK blocks
    /// first, then new data acknowledged or a duplicate counted, then the send window.
    /// </summary>
    public void OnAck(in TcpSegment seg, in TcpOptionsRepr segOptions, Instant now)
    {
        var ack = seg.Acknowledgment;
        ProbesOut = 0; // the peer is alive
        int window = (seg.Flags & TcpFlags.Syn) != 0 ? seg.Window : seg.Window << WindowShift; // RFC 7323 2.2-2.3: a SYN's window is never scaled
        bool newSack = c.SackEnabled && segOptions.Sack.Count > 0 && Scoreboard.Add(segOptions.Sack, ack, Max);
        if (ack > Unacknowledged) Acknowledged(ack, segOptions, now);
        else if (ack == Unacknowledged && seg.Payload.Length == 0 && (seg.Flags & (TcpFlags.Syn | TcpFlags.Fin)) == 0 && window == Window && Next > Unacknowledged)
            DuplicateAck(now); // RFC 5681 2: the definition of a duplicate ACK (a window probe beyond SND.NXT is not outstanding data)
        else if (newSack && !inRecovery && LossIndicated()) EnterRecovery(now);
        UpdateWindow(seg, window, now);
    }

    /// <summary>SND.UNA advances: acknowledged bytes leave the buffer, the RTT is sampled, cwnd grows or recovery moves on.</summary>
    private void Acknowledged(SeqNumber ack, in TcpOptionsRepr segOptions, Instant now)
    {
        int acked = ack - Unacknowledged;
        int flightBefore = FlightSize;
        Unacknowledged = ack;
        if (UrgentPointer < ack) UrgentPointer = ack; // urgent mode ends once SND.UNA passes SND.UP
        if (Next < ack) Next = ack;
        int bytes = Math.Clamp(ack - bufferSequence, 0, Buffer.Count);
        Buffer.Discard(bytes);
        bufferSequence += bytes;

        // RFC 7323 4.1 (RTTM): every ACK of new data with an echoed timestamp is a sample; without
        // timestamps, RFC 6298 times one segment at a time and never a retransmitted one (Karn).
        if (c.TimestampsEnabled && segOptions.Timestamps is { EchoReply: not 0 } ts && c.TimestampAge(ts.EchoReply, now) is { } age)
            Rtt.Sample(age, Math.Max(1, (flightBefore + 2 * Mss - 1) / (2 * Mss)));
        else if (timing is { } t && ack > t.Sequence)
            Rtt.Sample(now - t.SentAt);
        if (timing is { } timed && ack > timed.Sequence) timing = null;

        Retransmissions = 0;
        Scoreboard.AdvanceTo(ack);
        // An ACK that stops exactly where a SACKed range starts shows the receiver dropped what it
        // had SACKed (reneging, RFC 2018 8): forget the scoreboard, so that those bytes are resent.
        if (Scoreboard.Count > 0 && Scoreboard[0].Left == ack) { Scoreboard.Clear(); layer.TraceCongestion(c, "SACK reneging: scoreboard cleared, RFC 2018 §8", now); }
        if (inRecovery)
        {
            if (ack >= recoveryPoint) ExitRecovery(now);
            else if (!c.SackEnabled)
            {
                // RFC 6582 3.2 step 5, a partial ACK: resend the next hole at once and deflate cwnd by
                // what was acknowledged, adding back one segment.
                SendFrom(Unacknowledged, int.MaxValue, now);
                Congestion.Window = Math.Max(Congestion.Window - acked + (acked >= Mss ? Mss : 0), Mss);
            }
        }
        else if (c.State.IsSynchronized() && Congestion.Window > 0 && (flightBefore + Mss > Congestion.Window || (Congestion.InSlowStart && 2 * flightBefore >= Congestion.Window)))
            Congestion.OnAck(acked, now, Rtt.Smoothed ?? TimeSpan.Zero); // only a sender limited by cwnd grows it (RFC 7661's concern)
        duplicateAcks = 0;

        // RFC 6298 5.2-5.3: stop the timer when all is acknowledged, else restart it.
        if (Unacknowledged >= Max) StopRetransmit(now);
        else ArmRetransmit(now);
        if (bytes > 0 && c.HasWriteSpace) c.Signal?.Invoke(); // writers wake for real room (TcpConnection.HasWriteSpace)
    }

    private void DuplicateAck(Instant now)
    {
        duplicateAcks++;
        if (inRecovery)
        {
 // RFC 6582 3.2 step 4: each further duplicate inflates cwnd (never beyond what could be in flight)
            if (!c.SackEnabled && Congestion.Window < FlightSize + Buffer.Capacity) Congestion.Window += Mss;
            return;
        }
        if (duplicateAcks >= SackScoreboard.DuplicateThreshold || LossIndicated()) EnterRecovery(now);
    }

    /// <summary>RFC 6675 5 (b): with SACK, the hole at SND.UNA may be judged lost before three duplicates.</summary>
    private bool LossIndicated() => c.SackEnabled && Scoreboard.LostBelow(Unacknowledged, Mss) > Unacknowledged;

    /// <summary>RFC 5681 3.2 fast retransmit, then RFC 6582 NewReno or RFC 6675 SACK-based recovery.</summary>
    private void EnterRecovery(Instant now)
    {
        if (Unacknowledged < recoverGuard) return; // still inside the window a timeout or recovery already handled
        layer.Counters.Increment(Counter.TcpFastRetransmissions);
        inRecovery = true;
        recoveryPoint = Max;
        timing = null;
        Congestion.OnCongestionEvent(FlightSize, now);
        if (c.SackEnabled)
        {
            // RFC 6675 5 (4): cwnd = ssthresh, the first hole resent at once, the rest as pipe allows.
            Congestion.Window = Congestion.SlowStartThreshold;
            var limit = Scoreboard.NextSackedAfter(Unacknowledged) is { } n ? n - Unacknowledged : int.MaxValue;
            highRetransmitted = SendFrom(Unacknowledged, limit, now);
        }
        else
        {
            // RFC 6582 3.2 steps 2-3: resend SND.UNA's segment; cwnd = ssthresh + 3*SMSS.
            SendFrom(Unacknowledged, int.MaxValue, now);
            Congestion.Window = Congestion.SlowStartThreshold + 3 * Mss;
        }
        TotalRetransmissions++;
        layer.TraceCongestion(c, c.SackEnabled ? "fast retransmit; SACK recovery entered, RFC 6675 §5" : "fast retransmit; NewReno recovery entered, RFC 6582 §3.2", now);
    }

    private void ExitRecovery(Instant now)
    {
        inRecovery = false;
        recoverGuard = recoveryPoint;
        // RFC 6675 / Linux: cwnd = ssthresh; RFC 6582 3.2 step 5 (full ACK): min(ssthresh, FlightSize + SMSS).
        Congestion.Window = c.SackEnabled
            ? Congestion.SlowStartThreshold
            : Math.Min(Congestion.SlowStartThreshold, Math.Max(FlightSize, Mss) + Mss);
        layer.TraceCongestion(c, "recovery left: the recovery point is acknowledged", now);
    }

    /// <summary>RFC 6675 4, SetPipe: the octets the sender believes are still in the network.</summary>
    public int Pipe()
    {
        var lost = Scoreboard.LostBelow(Unacknowledged, Mss);
        if (lost < Unacknowledged) lost = Unacknowledged;
        var retransmittedEnd = highRetransmitted > Max ? Max : highRetransmitted;
        // Holes above the lost point are in flight; a retransmitted byte adds one more (below the
        // lost point it is the only copy in flight, above it the second).
        return Scoreboard.UnsackedBytes(lost, Max) + (inRecovery ? Scoreboard.UnsackedBytes(Unacknowledged, retransmittedEnd) : 0);
    }

    /// <summary>RFC 6675 5 (C): while cwnd - pipe >= 1 SMSS, send NextSeg().</summary>
    private bool SackRecoveryOutput(Instant now)
    {
        bool sent = false;
        while (Congestion.Window - Pipe() >= Mss)
        {
            if (RetransmitHole(now, onlyLost: true) || SendNewSegment(now, int.MaxValue) || RetransmitHole(now, onlyLost: false)) { sent = true; continue; }
            break;
        }
        return sent;
    }

    /// <summary>
    /// NextSeg rule 1 (<paramref name="onlyLost"/>: the first hole above HighRxt that IsLost) or rule 3
    /// (any hole above HighRxt below the highest SACKed byte): resend up to one MSS of it.
    /// </summary>
    private bool RetransmitHole(Instant now, bool onlyLost)
    {
        var start = highRetransmitted < Unacknowledged ? Unacknowledged : highRetransmitted;
        start = Scoreboard.SkipSacked(start);
        var bound = onlyLost ? Scoreboard.LostBelow(Unacknowledged, Mss) : Scoreboard.HighestSacked ?? Unacknowledged;
        if (start >= bound) return false;
        var end = Scoreboard.NextSackedAfter(start) ?? Max;
        var after = SendFrom(start, end - start, now);
        if (after == start) return false;
        highRetransmitted = after;
        layer.Counters.Increment(Counter.TcpRetransmissions);
        TotalRetransmissions++;
        return true;
    }

    /// <summary>RFC 6298 5.4-5.7 and RFC 5681 3.1: the retransmission timer expired.</summary>
    public void OnRetransmitTimeout(Instant now)
    {
        int limit = c.State is TcpState.SynSent or TcpState.SynReceived ? options.MaxSynRetransmissions : options.MaxRetransmissions;
        if (++Retransmissions > limit)
        {
            // RFC 9293 3.10.8: the connection is deleted without a reset (Linux tcp_write_err; a
            // half-open child is dropped silently, like a request sock whose SYN,ACKs ran out).
            layer.Counters.Increment(Counter.TcpTimeouts);
            c.Terminate(now, c.State == TcpState.SynReceived && c.Parent is not null ? Errno.Ok : Errno.ETIMEDOUT);
            return;
        }
        layer.Counters.Increment(Counter.TcpRetransmissions);
        TotalRetransmissions++;
        Rtt.BackOff();
        timing = null; // Karn: no RTT sample from a retransmitted segment
        ArmRetransmit(now, backedOff: true);
        if (c.State is TcpState.SynSent or TcpState.SynReceived)
        {
            SynRetransmitted = true;
            layer.Why = new(FrameReason.TcpSynRetransmission, Retransmissions, (int)Rtt.Rto.TotalMilliseconds);
            c.SendSyn(now);
            return;
        }
        // ssthresh from the flight on the first timeout, cwnd = the loss window of one segment; no
        // fast retransmit for what was sent before (RFC 6582). What SACK said is kept and skipped
        // when resending, as Linux does, unless the peer showed it reneges (then it is forgotten).
        Congestion.OnRetransmitTimeout(FlightSize, now, Retransmissions == 1);
        inRecovery = false;
        duplicateAcks = 0;
        recoverGuard = Max;
        highRetransmitted = Unacknowledged;
        goBackN = Unacknowledged;
        if (layer.Tracing) layer.TraceCongestion(c, $"retransmission timeout {Retransmissions}: cwnd to one segment, RFC 5681 §3.1", now);
        ResendAfterTimeout(now);
    }

    /// <summary>
    /// Go-back-N after a timeout: resend from SND.UNA towards SND.NXT as cwnd grows with the ACKs
    /// (slow start), one segment even into a closed window. SND.NXT itself stays where it was.
    /// </summary>
    private bool ResendAfterTimeout(Instant now)
    {
        bool sent = false;
        while (goBackN is { } point)
        {
            if (point < Unacknowledged) point = Unacknowledged;
            point = Scoreboard.SkipSacked(point);
            if (point >= Next) { goBackN = null; break; }
            int flight = Scoreboard.UnsackedBytes(Unacknowledged, point);
            if (flight > 0 && Congestion.Window - flight < Math.Min(Mss, Next - point)) break;
            int room = Math.Max(Window, Mss) - (point - Unacknowledged);
            if (room <= 0) break;
            if (Scoreboard.NextSackedAfter(point) is { } sacked) room = Math.Min(room, sacked - point);
            var after = SendFrom(point, room, now);
            if (after == point) break;
            goBackN = after;
            sent = true;
        }
        return sent;
    }
}
