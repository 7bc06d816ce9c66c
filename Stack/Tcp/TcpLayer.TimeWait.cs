using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

// TIME-WAIT records (TimeWaitRecord.cs): a connection in TIME-WAIT whose socket is closed hands
// over to a small record and leaves the stack; the record holds its port and 4-tuple for 2 MSL,
// answers segments, and ends when the timer fires, a RST kills it, or a new SYN reopens the pair.
public sealed partial class TcpLayer
{
    /// <summary>The TIME-WAIT records, in a port table of their own that the connections' table consults (bind, ephemeral ports).</summary>
    public PortTable<TimeWaitRecord> TimeWaits { get; }

    private readonly PriorityQueue<TimeWaitRecord, Instant> timeWaitTimers = new();

    /// <summary>RFC 5961 7's challenge ACK limit for the records: one bucket for all of them (Linux's limit is per network namespace too).</summary>
    private readonly TokenBucket timeWaitChallengeAcks;
    internal TokenBucket TimeWaitChallengeAcks => timeWaitChallengeAcks;

    /// <summary>The connection leaves the stack; its record takes the 4-tuple, the port and the 2 MSL timer.</summary>
    private void RetireToTimeWait(TcpConnection c, Instant now)
    {
        var remote = c.Remote!.Value;
        var local = c.Local.Address.IsUnspecified ? c.Local with { Address = stack.Ipv4.SourceFor(remote.Address) } : c.Local;
        var record = c.ToTimeWaitRecord(local);
        record.Replaced = new WeakReference<TcpConnection>(c);
        Forget(c);
        c.Detach();
        TimeWaits.Add(record);
        NoteDeadline(record);
        Counters.Increment(Counter.TcpTimeWaitRecords);
    }

    internal void NoteDeadline(TimeWaitRecord r)
    {
        if (r.Deadline >= r.QueuedAt) return;
        r.QueuedAt = r.Deadline;
        timeWaitTimers.Enqueue(r, r.Deadline);
    }

    private Instant NextTimeWaitDeadline => timeWaitTimers.TryPeek(out _, out var at) ? at : Instant.MaxValue;

    /// <summary>Fires the 2 MSL timers that are due; an entry that a restart moved later is queued again at the record's deadline.</summary>
    private void PollTimeWait(Instant now)
    {
        while (timeWaitTimers.TryPeek(out var r, out var at) && at <= now)
        {
            timeWaitTimers.Dequeue();
            if (at != r.QueuedAt || r.Ended) continue;
            r.QueuedAt = Instant.MaxValue;
            if (r.Deadline > now) { NoteDeadline(r); continue; }
            TraceTimer(r, TcpTimer.TimeWait, TimerAction.Fired, now);
            EndTimeWait(r, StateChangeCause.TimeWaitExpired, now);
        }
    }

    /// <summary>The record enters CLOSED: out of the table; its port is free again.</summary>
    internal void EndTimeWait(TimeWaitRecord r, StateChangeCause cause, Instant now)
    {
        if (r.Ended) return;
        r.Ended = true;
        TimeWaits.Remove(r);
        if (Tracing) stack.Trace!.Write(new TcpStateChanged(now, Name(r), nameof(TcpState.TimeWait), nameof(TcpState.Closed), cause));
        if (r.Replaced?.TryGetTarget(out var c) == true) c.RecordEnded();
    }

    /// <summary>RFC 9293 3.10.7.4 in TIME-WAIT: 2 MSL again from now.</summary>
    internal void RestartTimeWait(TimeWaitRecord r, Instant now)
    {
        var twoMsl = Options.MaximumSegmentLifetime * 2;
        r.Deadline = now + twoMsl;
        NoteDeadline(r);
        TraceTimer(r, TcpTimer.TimeWait, TimerAction.Armed, now, twoMsl);
    }

    /// <summary>A record's ACK: &lt;SEQ=SND.NXT&gt;&lt;ACK=RCV.NXT&gt;&lt;CTL=ACK&gt;, timestamps if they were on, no SACK blocks (as Linux's tcp_twsk ACK).</summary>
    internal void SendTimeWaitAck(TimeWaitRecord r, Instant now)
    {
        var options = r.TimestampsEnabled ? new TcpOptionsRepr(Timestamps: (r.TimestampNow(now), r.TimestampRecent)) : default;
        var repr = new TcpRepr(r.Local.Port, r.RemoteEndpoint.Port, r.SendNext, r.ReceiveNext, TcpFlags.Ack, r.WindowField, 0, options, 0);
        stack.SendNote = Why.IsSet ? Why : new FrameNote(FrameReason.TcpAck);
        Transmit(repr, r.Local.Address, r.RemoteEndpoint.Address, now, r.TypeOfService, r.TimeToLive);
        stack.SendNote = Why = default;
    }

    internal void TraceTimer(TimeWaitRecord r, TcpTimer timer, TimerAction action, Instant now, TimeSpan duration = default) =>
        stack.Trace?.Write(new TcpTimerChanged(now, Name(r), timer, action, duration));

    private static string Name(TimeWaitRecord r) => Name(r.Local, r.RemoteEndpoint);

    /// <summary>"10.0.0.2:7-10.0.0.1:40000", as a connection's trace name.</summary>
    private static string Name(Endpoint local, Endpoint remote) => $"{local}-{remote}";

    private string? CheckTimeWaitInvariants()
    {
        foreach (var r in TimeWaits.All)
        {
            if (r.Ended) return $"{r} ended but is still in the table";
            if (r.Deadline < r.QueuedAt) return $"{r} expires at {r.Deadline} but is queued at {r.QueuedAt}";
            if (Table.Lookup(r.Local, r.RemoteEndpoint) is { Remote: not null } c) return $"{r} and {c} hold the same 4-tuple";
        }
        return null;
    }
}
