using UserStack.Time;

namespace UserStack.Tcp;

// The TCP timers of every connection in one priority queue, and the invariant check that compares it with a scan.
public sealed partial class TcpLayer
{
    // The timer queue: connections by deadline, so that neither the host's question "when next?"
    // (after every frame) nor a due timer scans the connections. A connection is queued again only
    // when a timer moves its deadline earlier than where it is queued (QueuedAt); an entry that a
    // later one superseded, or whose timer was stopped or moved later, is found stale when it comes
    // up and is dropped or queued again at the connection's real deadline.
    private readonly PriorityQueue<TimerHandle, Instant> timers = new();

    internal void NoteDeadline(TcpConnection c, Instant deadline)
    {
        var handle = c.Timer;
        if (deadline >= handle.QueuedAt) return;
        handle.QueuedAt = deadline;
        timers.Enqueue(handle, deadline);
    }

    /// <summary>
    /// The first TCP timer due (TIME-WAIT records' included). Lazy entries at the head are settled
    /// first (a superseded entry, a timer stopped or moved later, a connection gone): otherwise each
    /// would wake the host's timer thread for nothing, about three per short connection (its RTO
    /// armed and stopped per flight).
    /// </summary>
    internal Instant NextDeadline => Instant.Min(Instant.Min(NextConnectionDeadline(), NextTimeWaitDeadline), NextHalfOpenDeadline());

    private Instant NextConnectionDeadline()
    {
        while (timers.TryPeek(out var handle, out var at))
        {
            bool current = at == handle.QueuedAt;
            if (current && handle.Connection is { } c && live.Contains(c))
            {
                var real = c.NextDeadline;
                if (real <= at) return at;
                timers.Dequeue();
                handle.QueuedAt = Instant.MaxValue;
                NoteDeadline(c, real); // its real deadline, if any
                continue;
            }
            timers.Dequeue();
            if (current) handle.QueuedAt = Instant.MaxValue;
        }
        return Instant.MaxValue;
    }

    internal void Poll(Instant now)
    {
        due.Clear();
        while (timers.TryPeek(out var handle, out var at) && at <= now)
        {
            timers.Dequeue();
            if (at != handle.QueuedAt) continue; // superseded by an earlier entry, which came up before
            handle.QueuedAt = Instant.MaxValue;
            if (handle.Connection is { } c && live.Contains(c)) due.Add(c);
        }
        foreach (var c in due)
        {
            if (c.State != TcpState.Closed && c.NextDeadline <= now) c.OnTimers(now);
            if (live.Contains(c)) NoteDeadline(c, c.NextDeadline); // its next timer, or the same one moved later
        }
        due.Clear();
        PollTimeWait(now);
        PollHalfOpen(now);
    }

    /// <summary>The first broken invariant of any live connection (or of the table), or null; call after Poll(now).</summary>
    public string? CheckInvariants(Instant now)
    {
        foreach (var c in live)
        {
            if (c.State == TcpState.Closed) return $"{c} is closed but still live";
            if (c.CheckInvariants(now) is { } broken) return $"{c}: {broken}";
        }
        if (NextDeadline > NextExactDeadline()) return "the timer queue's first deadline is later than a connection's timer";
        foreach (var c in live)
            if (c.NextDeadline < c.Timer.QueuedAt) return $"{c} has a timer at {c.NextDeadline} but is queued at {c.Timer.QueuedAt}";
        return CheckTimeWaitInvariants() ?? CheckHalfOpenInvariants();
    }

    private Instant NextExactDeadline()
    {
        var next = Instant.MaxValue;
        foreach (var c in live) next = Instant.Min(next, c.NextDeadline);
        foreach (var r in TimeWaits.All) next = Instant.Min(next, r.Deadline);
        foreach (var r in halfOpens.Values) next = Instant.Min(next, r.Deadline);
        return next;
    }
}
