using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

// SYN-RECEIVED records (SynReceivedRecord.cs): a SYN to a listener makes a small record that sends
// the SYN,ACK, found by its 4-tuple before the listener is (SynArrives). Any event turns
// it back into its connection (Thaw), which then runs the ordinary SYN-RECEIVED code; a connection
// still plainly half-open afterwards becomes a record again (Freeze). The listener's SYN-queue
// count (HalfOpen) counts records and connections alike: a record never left SYN-RECEIVED.
public sealed partial class TcpLayer
{
    private readonly Dictionary<(Endpoint Local, Endpoint Remote), SynReceivedRecord> halfOpens = new();
    private readonly PriorityQueue<SynReceivedRecord, Instant> halfOpenTimers = new();

    /// <summary>The listeners' children in SYN-RECEIVED held as records (those held as connections are in <see cref="Connections"/>).</summary>
    public IReadOnlyCollection<SynReceivedRecord> HalfOpenRecords => halfOpens.Values;

    /// <summary>The record for this 4-tuple, if a half-open child is held as one.</summary>
    public SynReceivedRecord? HalfOpenLookup(Endpoint local, Endpoint remote) =>
        halfOpens.Count != 0 && halfOpens.TryGetValue((local, remote), out var r) ? r : null;

    /// <summary>
    /// RFC 9293 3.10.7.2, LISTEN, third: a SYN makes a child in SYN-RECEIVED, here its record (IRS =
    /// SEG.SEQ, the options both SYNs agree on, the peer's unscaled window, text on the SYN kept for
    /// later) and sends &lt;SEQ=ISS&gt;&lt;ACK=RCV.NXT&gt;&lt;CTL=SYN,ACK&gt; with its retransmission timer.
    /// The trace shows what a connection would: SYN-RECEIVED, the SYN,ACK, the timer armed.
    /// </summary>
    private void SynArrives(TcpConnection listener, in TcpSegment syn, Endpoint local, Endpoint remote, SeqNumber iss, uint timestampOffset, Instant now)
    {
        int capacity = listener.ReceiveBufferCapacity;
        var peer = syn.Options;
        var agreed = NegotiatedOptions.From(Options, peer, capacity);
        var r = new SynReceivedRecord(listener, local, remote)
        {
            InitialSend = iss,
            InitialReceive = syn.Sequence,
            SendWindow = syn.Window, // RFC 7323 2.2: a SYN's window is never scaled
            Wl2 = syn.Acknowledgment,
            PeerMss = (ushort)agreed.PeerMss,
            PeerWindowShift = (byte)agreed.PeerWindowShift,
            WindowScaling = agreed.WindowScaling,
            Timestamps = agreed.Timestamps,
            Sack = agreed.Sack,
            TimestampOffset = timestampOffset,
            TimestampRecent = peer.Timestamps?.Value ?? 0,
            TimestampRecentAt = peer.Timestamps is null ? default : now,
            // RFC 9293 3.10.7.2: text on the SYN is queued and delivered once the connection is established.
            SynText = syn.Payload.Length > 0 ? syn.Payload[..Math.Min(syn.Payload.Length, capacity)].ToArray() : null,
            SynAckSentAt = now,
            Deadline = now + Options.InitialRto,
            ReceiveCapacity = capacity,
            SendCapacity = listener.SendBufferCapacity,
            UserMss = listener.UserMss,
            TypeOfService = listener.TypeOfService,
            TimeToLive = listener.TimeToLive,
        };
        if (!halfOpens.TryAdd((local, remote), r)) return; // never: Receive finds an existing record first
        listener.CountHalfOpenRecord();
        if (Tracing) stack.Trace!.Write(new TcpStateChanged(now, Name(r), nameof(TcpState.Closed), nameof(TcpState.SynReceived), StateChangeCause.SynReceived));
        SendSynAck(r, now);
        if (Tracing) stack.Trace!.Write(new TcpTimerChanged(now, Name(r), TcpTimer.Retransmission, TimerAction.Armed, Options.InitialRto, 0));
        NoteDeadline(r);
    }

    private static string Name(SynReceivedRecord r) => Name(r.Local, r.Remote);

    /// <summary>The connection leaves the stack; its record takes its place in the SYN queue and its timer.</summary>
    internal void Freeze(TcpConnection c)
    {
        var record = c.ToSynReceivedRecord();
        Forget(c);
        halfOpens.Add((record.Local, record.Remote), record);
        NoteDeadline(record);
    }

    /// <summary>The connection a record stood for, live again in the table in its place.</summary>
    private TcpConnection Thaw(SynReceivedRecord r)
    {
        halfOpens.Remove((r.Local, r.Remote));
        r.Ended = true;
        var c = OpenChild(r.Listener, r.Local, r.Remote);
        c.RestoreFrom(r); // its timer is queued as RestoreSynAck sets it
        return c;
    }

    /// <summary>The connection for this 4-tuple if a record held it (thawed), else null.</summary>
    private TcpConnection? ThawFor(Endpoint local, Endpoint remote) =>
        halfOpens.Count != 0 && halfOpens.TryGetValue((local, remote), out var r) ? Thaw(r) : null;

    /// <summary>The peer's SYN again, so our SYN,ACK was lost (Linux's tcp_check_req; TcpConnection.Arrival.cs has the same rule).</summary>
    private static bool IsRetransmittedSyn(SynReceivedRecord r, in TcpSegment seg) =>
        (seg.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Syn && seg.Sequence == r.InitialReceive;

    /// <summary>
    /// The record's SYN,ACK, the same segment its connection sends (TcpConnection.OptionsFor with a SYN,
    /// the unscaled window of a SYN): what both SYNs agreed on, the window the listener's buffer offers.
    /// </summary>
    private void SendSynAck(SynReceivedRecord r, Instant now)
    {
        int mss = LocalMss(r.UserMss, r.Remote);
        var options = new TcpOptionsRepr(
            MaximumSegmentSize: (ushort)Math.Min(mss, ushort.MaxValue),
            WindowScale: r.WindowScaling ? (byte)r.OurWindowShift : null,
            SackPermitted: r.Sack,
            Timestamps: r.Timestamps ? (unchecked((uint)now.Milliseconds + r.TimestampOffset), r.TimestampRecent) : null);
        var window = (ushort)r.ReceiveWindow; // what the first SYN,ACK offered
        var repr = new TcpRepr(r.Local.Port, r.Remote.Port, r.InitialSend, r.ReceiveNext, TcpFlags.Syn | TcpFlags.Ack, window, 0, options);
        stack.SendNote = new FrameNote(FrameReason.TcpSynAck);
        Transmit(repr, r.Local.Address, r.Remote.Address, now, r.TypeOfService, r.TimeToLive);
        stack.SendNote = Why = default;
    }

    /// <summary>After an event: a connection that is plainly half-open again goes back to a record.</summary>
    private void FreezeIfPlain(TcpConnection c)
    {
        if (c.ReadyForHalfOpenRecord) Freeze(c);
    }

    internal void NoteDeadline(SynReceivedRecord r)
    {
        if (r.Deadline >= r.QueuedAt) return;
        r.QueuedAt = r.Deadline;
        halfOpenTimers.Enqueue(r, r.Deadline);
    }

    private Instant NextHalfOpenDeadline()
    {
        while (halfOpenTimers.TryPeek(out var r, out var at) && (r.Ended || at != r.QueuedAt))
        {
            halfOpenTimers.Dequeue();
            if (!r.Ended && at == r.QueuedAt) r.QueuedAt = Instant.MaxValue;
        }
        return halfOpenTimers.TryPeek(out _, out var next) ? next : Instant.MaxValue;
    }

    /// <summary>Records whose SYN,ACK timer is due: each is its connection again while the timer fires (a resend or the end).</summary>
    private void PollHalfOpen(Instant now)
    {
        while (halfOpenTimers.TryPeek(out var r, out var at) && at <= now)
        {
            halfOpenTimers.Dequeue();
            if (at != r.QueuedAt || r.Ended) continue;
            r.QueuedAt = Instant.MaxValue;
            if (r.Deadline > now) { NoteDeadline(r); continue; }
            var c = Thaw(r);
            c.OnTimers(now);
            if (c.State == TcpState.Closed) continue;
            if (c.ReadyForHalfOpenRecord) Freeze(c);
            else NoteDeadline(c, c.NextDeadline);
        }
    }

    /// <summary>A closing listener's children in SYN-RECEIVED, as connections (records thawed), for it to end.</summary>
    internal List<TcpConnection> HalfOpenChildren(TcpConnection listener)
    {
        if (halfOpens.Count != 0)
            foreach (var r in halfOpens.Values.Where(r => r.Listener == listener).ToList()) Thaw(r);
        return live.Where(c => c.Parent == listener && c.State == TcpState.SynReceived).ToList();
    }

    private string? CheckHalfOpenInvariants()
    {
        foreach (var r in halfOpens.Values)
        {
            if (r.Ended) return $"{r} ended but is still held";
            if (r.Deadline < r.QueuedAt) return $"{r} times out at {r.Deadline} but is queued at {r.QueuedAt}";
            if (r.Listener.State != TcpState.Listen || !r.Listener.InTable) return $"{r} outlived its listener";
            if (Table.Lookup(r.Local, r.Remote) is { Remote: not null } c) return $"{r} and {c} hold the same 4-tuple";
        }
        var held = new Dictionary<TcpConnection, int>();
        foreach (var r in halfOpens.Values) held[r.Listener] = held.GetValueOrDefault(r.Listener) + 1;
        foreach (var c in live)
            if (c is { Parent: { } parent, State: TcpState.SynReceived }) held[parent] = held.GetValueOrDefault(parent) + 1;
        foreach (var listener in Table.All.Where(l => l.State == TcpState.Listen))
            if (held.GetValueOrDefault(listener) != listener.HalfOpen) return $"{listener} counts {listener.HalfOpen} half-open children but has {held.GetValueOrDefault(listener)}";
        return null;
    }
}
