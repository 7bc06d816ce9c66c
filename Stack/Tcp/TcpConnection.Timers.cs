using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;

namespace UserStack.Tcp;

// The connection's timers besides the sender's (retransmission, persist) and the receiver's
// (delayed ACK): TIME-WAIT (RFC 9293 3.10.7.4), FIN-WAIT-2 for closed sockets (Linux's
// tcp_fin_timeout) and keepalive (RFC 1122 4.2.3.6). The trace shows each timer armed (with its
// duration), fired, and stopped early with its cause; when the connection ends (Terminate) every
// timer dies with it, which the state change to CLOSED shows, not a line per timer.
public sealed partial class TcpConnection
{
    private Instant timeWaitAt = Instant.MaxValue, keepAliveAt = Instant.MaxValue, finWait2At = Instant.MaxValue;
    internal Instant TimeWaitAt { get => timeWaitAt; private set => layer.NoteDeadline(this, timeWaitAt = value); }
    internal Instant KeepAliveAt { get => keepAliveAt; private set => layer.NoteDeadline(this, keepAliveAt = value); }
    internal Instant FinWait2At { get => finWait2At; private set => layer.NoteDeadline(this, finWait2At = value); }

    private bool keepAlive;
    private Instant lastHeard;       // when the peer last sent an acceptable segment
    private int keepAliveProbes;     // probes sent since then

    /// <summary>SO_KEEPALIVE: probe an idle connection (RFC 1122 4.2.3.6; off by default, as it MUST be).</summary>
    public bool KeepAlive => keepAlive;
    /// <summary>TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (Linux defaults: 2 h, 75 s, 9).</summary>
    public TimeSpan KeepAliveIdle { get; set; }
    public TimeSpan KeepAliveInterval { get; set; }
    public int KeepAliveCount { get; set; }

    /// <summary>This connection's place in the layer's timer queue.</summary>
    internal TimerHandle Timer => timer ??= new TimerHandle(this);
    private TimerHandle? timer;

    /// <summary>The connection left the stack: entries still queued for it point at nothing (a new handle if it is ever armed again).</summary>
    internal void ReleaseTimer()
    {
        if (timer is null) return;
        timer.Connection = null;
        timer = null;
    }

    internal Instant NextDeadline
    {
        get
        {
            var t = Instant.Min(sender.RetransmitAt, sender.PersistAt);
            t = Instant.Min(t, receiver.DelayedAckAt);
            t = Instant.Min(t, TimeWaitAt);
            t = Instant.Min(t, KeepAliveAt);
            return Instant.Min(t, FinWait2At);
        }
    }

    /// <summary>SO_KEEPALIVE on or off; the timer runs only on an established connection (as in Linux).</summary>
    public void SetKeepAlive(bool on, Instant now)
    {
        keepAlive = on;
        if (!on || State is not (TcpState.Established or TcpState.CloseWait)) { StopKeepAlive(now); return; }
        if (lastHeard == default) lastHeard = now;
        ArmKeepAlive(lastHeard + KeepAliveIdle, now);
    }

    /// <summary>Fires whichever of this connection's timers are due.</summary>
    internal void OnTimers(Instant now)
    {
        if (TimeWaitAt <= now) { layer.TraceTimer(this, TcpTimer.TimeWait, TimerAction.Fired, now); Terminate(now, Errno.Ok); return; }
        if (FinWait2At <= now)
        {
            layer.TraceTimer(this, TcpTimer.FinWait2, TimerAction.Fired, now);
            // Linux: an orphaned FIN-WAIT-2 connection is dropped silently after tcp_fin_timeout.
            layer.Counters.Increment(Counter.TcpTimeouts);
            Terminate(now, Errno.Ok);
            return;
        }
        if (receiver.DelayedAckAt <= now)
        {
            layer.TraceTimer(this, TcpTimer.DelayedAck, TimerAction.Fired, now);
            receiver.DelayedAckAt = Instant.MaxValue; // fired, not cancelled: the ACK below pays it
            layer.Why = new(FrameReason.TcpDelayedAck);
            SendAck(now);
        }
        if (sender.RetransmitAt <= now) { layer.TraceTimer(this, TcpTimer.Retransmission, TimerAction.Fired, now); sender.OnRetransmitTimeout(now); }
        if (State != TcpState.Closed && sender.PersistAt <= now) { layer.TraceTimer(this, TcpTimer.Persist, TimerAction.Fired, now); sender.OnPersistTimeout(now); }
        if (State != TcpState.Closed && KeepAliveAt <= now) { layer.TraceTimer(this, TcpTimer.KeepAlive, TimerAction.Fired, now); OnKeepAliveTimer(now); }
    }

    /// <summary>
    /// RFC 1122 4.2.3.6: after KeepAliveIdle of silence, a segment with SEG.SEQ = SND.NXT - 1 (SND.UNA - 1, as Linux) and
    /// no data asks the peer for an ACK; KeepAliveCount unanswered probes, KeepAliveInterval apart,
    /// end the connection (ETIMEDOUT, with a RST as Linux sends).
    /// </summary>
    private void OnKeepAliveTimer(Instant now)
    {
        KeepAliveAt = Instant.MaxValue;
        if (!keepAlive || State is not (TcpState.Established or TcpState.CloseWait)) return;
        var silence = now - lastHeard;
        if (silence < KeepAliveIdle || sender.FlightSize > 0 || sender.Unsent > 0)
        {
            // Not idle (or the retransmission timer watches the peer already): look again later.
            ArmKeepAlive(silence < KeepAliveIdle ? lastHeard + KeepAliveIdle : now + KeepAliveIdle, now);
            return;
        }
        if (keepAliveProbes >= KeepAliveCount)
        {
            layer.Counters.Increment(Counter.TcpTimeouts);
            Abort(now, Errno.ETIMEDOUT);
            return;
        }
        keepAliveProbes++;
        layer.Why = new(FrameReason.TcpKeepAlive, keepAliveProbes);
        Transmit(sender.Unacknowledged - 1, Wire.TcpFlags.Ack, 0, 0, now);
        ArmKeepAlive(now + KeepAliveInterval, now);
    }

    private void ArmKeepAlive(Instant at, Instant now)
    {
        KeepAliveAt = at;
        layer.TraceTimer(this, TcpTimer.KeepAlive, TimerAction.Armed, now, at > now ? at - now : TimeSpan.Zero);
    }

    private void StopKeepAlive(Instant now)
    {
        if (KeepAliveAt != Instant.MaxValue) layer.TraceTimer(this, TcpTimer.KeepAlive, TimerAction.Cancelled, now);
        KeepAliveAt = Instant.MaxValue;
    }

    /// <summary>
    /// RFC 1122 4.2.2.13 (RFC 6191 with timestamps): in TIME-WAIT a bare SYN may open a new
    /// incarnation if it cannot be an old duplicate: its TSval is newer than TS.Recent or, without
    /// timestamps, its sequence number lies beyond RCV.NXT. The same test as Linux's.
    /// </summary>
    internal bool AcceptsNewSyn(in Wire.TcpSegment seg, Instant now)
    {
        if ((seg.Flags & (Wire.TcpFlags.Syn | Wire.TcpFlags.Ack | Wire.TcpFlags.Rst)) != Wire.TcpFlags.Syn) return false;
        var segOptions = seg.Options;
        if (PawsRejects(segOptions, seg.Flags, now)) return false;
        return seg.Sequence > receiver.Next
            || (TimestampsEnabled && segOptions.Timestamps is { } ts && unchecked((int)(ts.Value - timestampRecent)) > 0);
    }

    private void StartFinWait2Timer(Instant now)
    {
        if (FinWait2At != Instant.MaxValue) return;
        FinWait2At = now + options.FinWait2Timeout;
        layer.TraceTimer(this, TcpTimer.FinWait2, TimerAction.Armed, now, options.FinWait2Timeout);
    }

    private void EnterTimeWait(Instant now)
    {
        SetState(TcpState.TimeWait, now);
        sender.StopTimers();
        ReleaseBuffers(); // TIME-WAIT is a small record: everything was sent and acknowledged
        StopKeepAlive(now);
        if (FinWait2At != Instant.MaxValue) layer.TraceTimer(this, TcpTimer.FinWait2, TimerAction.Cancelled, now);
        FinWait2At = Instant.MaxValue;
        RestartTimeWait(now);
    }

    private void RestartTimeWait(Instant now)
    {
        TimeWaitAt = now + options.MaximumSegmentLifetime * 2;
        layer.TraceTimer(this, TcpTimer.TimeWait, TimerAction.Armed, now, options.MaximumSegmentLifetime * 2);
    }
}
