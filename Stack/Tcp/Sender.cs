using UserStack.Diagnostics;
using UserStack.Tcp.Congestion;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// The sending half of a connection (RFC 9293 3.3.1 send sequence variables): SND.UNA, SND.NXT,
/// SND.WND, the send buffer, the one effective MSS, sender SWS avoidance and Nagle, the persist
/// timer, and (in Sender.Recovery.cs) acknowledgments, retransmission and loss recovery under a
/// congestion controller.
/// </summary>
internal sealed partial class Sender
{
    private readonly TcpConnection c;
    private readonly TcpLayer layer;
    private readonly TcpOptions options;
    private Instant retransmitAt = Instant.MaxValue, persistAt = Instant.MaxValue;

    public Sender(TcpConnection connection, TcpLayer layer, TcpOptions options)
    {
        c = connection;
        this.layer = layer;
        this.options = options;
        Buffer = new ByteRing(options.SendBufferSize);
        Rtt = new RttEstimator(options);
        Congestion = CongestionControl.Create(options.CongestionControl);
    }

    public SeqNumber Unacknowledged;   // SND.UNA
    public SeqNumber Next;             // SND.NXT
    /// <summary>The highest sequence number sent so far (BSD's snd_max): SND.NXT, or beyond it after a timeout or a window probe.</summary>
    public SeqNumber Max;
    public int Window;                 // SND.WND, scaled
    public SeqNumber Wl1, Wl2;         // SND.WL1, SND.WL2
    public SeqNumber Initial;          // ISS
    public int MaxWindow;              // MAX.SND.WND (RFC 5961 5.2)
    /// <summary>Snd.Wind.Shift (RFC 7323 2.3): how far the peer's window fields are shifted.</summary>
    public int WindowShift;
    /// <summary>The MSS the peer announced (RFC 9293 3.7.1: 536 when it sent none).</summary>
    public int PeerMss = 536;
    public bool NoDelay;

    /// <summary>Bytes from SND.UNA on (sent and not yet sent); the first has sequence number <see cref="bufferSequence"/>.</summary>
    public ByteRing Buffer { get; }
    private SeqNumber bufferSequence;
    /// <summary>
    /// SND.UP (RFC 9293 3.8.5): one past the last urgent byte, as Linux and BSD place it (RFC 6093 3).
    /// Urgent mode lasts while it is beyond SND.UNA (Linux's tcp_urg_mode).
    /// </summary>
    public SeqNumber UrgentPointer;
    public bool UrgentMode => UrgentPointer > Unacknowledged;
    public bool FinQueued;             // the application closed its sending side
    public SeqNumber? FinSequence;     // where our FIN sits in sequence space, once sent

    public RttEstimator Rtt { get; }
    public CongestionControl Congestion { get; private set; }
    public SackScoreboard Scoreboard { get; } = new();

    private Instant lastDataSent;      // Linux's lsndtime
    private SeqNumber smallSegmentEnd;  // Minshall's snd_sml: the end of the last segment shorter than the MSS
    private TimeSpan persistBackoff;
    /// <summary>Window probes sent since the peer last answered (Linux's icsk_probes_out): what gives up a dead peer.</summary>
    public int ProbesOut { get; private set; }
    /// <summary>
    /// Window probes sent since the window closed (Linux's icsk_backoff for the persist timer): the
    /// interval doubles with each one, answered or not, until the window opens (RFC 1122 4.2.2.17).
    /// Only the trace reads it: it numbers the probes and their back-off.
    /// </summary>
    public int WindowProbes { get; private set; }

    public Instant RetransmitAt { get => retransmitAt; set => layer.NoteDeadline(c, retransmitAt = value); }
    public Instant PersistAt { get => persistAt; set => layer.NoteDeadline(c, persistAt = value); }

    /// <summary>
    /// RFC 9293 3.7.1 (MUST-16) and RFC 7323 3.2: the most data one segment carries, the peer's MSS
    /// capped by what our MTU and the path MTU (RFC 1191) can carry, less the timestamp option when it is on every segment.
    /// </summary>
    public int Mss => Math.Max(1, Math.Min(PeerMss, Math.Min(c.LocalMss, c.PathMss)) - c.OptionOverhead);

    /// <summary>The data one segment carries now: <see cref="Mss"/> less the SACK option it will carry.</summary>
    internal int SegmentSize => Math.Max(1, Mss - c.SackOptionBytes);

    /// <summary>
    /// The most data one transmit may carry: a segment, or with TSO on the route's interface as many whole
    /// segments as a 64 KiB datagram holds (Linux: 45 x 1448), which the device cuts at <paramref name="mss"/>.
    /// </summary>
    private int TransmitLimit(int mss) =>
        layer.SegmentationOffloadTo(c.Remote!.Value.Address) ? Math.Max(1, (Ip.Ipv4Layer.MaximumDatagram - 20 - 60) / mss) * mss : mss;

    /// <summary>RFC 5681 2: FlightSize, the data sent and not yet acknowledged.</summary>
    public int FlightSize => Max - Unacknowledged;

    /// <summary>Bytes the application queued that were never sent.</summary>
    public int Unsent => Math.Max(0, Buffer.Count - (Next - bufferSequence));

    /// <summary>RFC 9293 3.4: SND.UNA = ISS, SND.NXT = ISS + 1 (the SYN); data starts at ISS + 1.</summary>
    public void Start(SeqNumber iss)
    {
        Initial = iss;
        Unacknowledged = iss;
        Next = iss + 1;
        Max = Next;
        bufferSequence = iss + 1;
        UrgentPointer = iss;
        recoverGuard = iss;
    }

    /// <summary>TCP_CONGESTION: a new algorithm starts from the current windows.</summary>
    public void UseCongestionControl(string name)
    {
        var next = CongestionControl.Create(name);
        next.SetMss(Mss);
        next.Window = Congestion.Window;
        next.SlowStartThreshold = Congestion.SlowStartThreshold;
        Congestion = next;
    }

    /// <summary>
    /// Sends what the windows allow: after a timeout the go-back-N resend first; in SACK recovery
    /// RFC 6675's NextSeg; otherwise new data and then the FIN. True if anything was sent.
    /// </summary>
    public bool Output(Instant now)
    {
        if (!c.State.IsSynchronized()) return false;
        bool sent = false;
        if (goBackN is not null)
        {
            sent = ResendAfterTimeout(now);
            if (goBackN is not null) return sent;
        }
        if (inRecovery && c.SackEnabled) return SackRecoveryOutput(now) || sent;
        while (SendNewSegment(now, CongestionRoom())) sent = true;
        ArmPersistIfStuck(now);
        return sent;
    }

    /// <summary>What cwnd lets us add to the flight; RFC 3042 limited transmit adds a segment for each of the first two duplicate ACKs.</summary>
    private int CongestionRoom()
    {
        int allowance = Congestion.Window;
        if (!inRecovery && duplicateAcks is 1 or 2) allowance += duplicateAcks * Mss;
        return allowance - (Next - Unacknowledged);
    }

    /// <summary>One new segment (or the FIN) if the receive window, <paramref name="room"/> in cwnd, SWS avoidance and Nagle allow it.</summary>
    private bool SendNewSegment(Instant now, int room)
    {
        int offset = Next - bufferSequence;
        int unsent = Unsent;
        bool finDue = FinQueued && FinSequence is null;
        if (unsent == 0)
        {
            if (!finDue) return false;
            c.Transmit(Next, TcpFlags.Fin | TcpFlags.Ack, 0, 0, now);
            Advance(0, fin: true, now);
            return true;
        }
        int inFlight = Next - Unacknowledged;
        int usable = Window - inFlight; // RFC 9293 3.8.6.2.1: the usable window
        if (usable <= 0) return false;
        int mss = SegmentSize;
        RestartAfterIdle(now);
        int length = Math.Min(Math.Min(unsent, usable), unsent > mss && usable > mss ? TransmitLimit(mss) : mss);
        if (length > mss)
        {
            // A TSO super-segment: within cwnd, and whole segments unless it ends the data (Linux's tcp_mss_split_point).
            if (room < length) length = Math.Max(mss, room / mss * mss);
            if (length < unsent) length = length / mss * mss;
        }
        if (room < length && inFlight > 0) return false; // RFC 5681 3.1: never beyond SND.UNA + min(cwnd, rwnd)
        bool all = length == unsent;
        if (length < mss)
        {
            // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a partial segment only if it is all we have or nothing is in flight.
            if (!all && inFlight > 0) return false;
            // Nagle (RFC 1122 4.2.3.4) in Minshall's form, as Linux: hold a small segment while an earlier
            // small one is unacknowledged, unless TCP_NODELAY is set or the FIN goes with it.
            // Urgent data is never held by Nagle (Linux's tcp_nagle_test).
            if (!NoDelay && !FinQueued && !UrgentMode && inFlight > 0 && smallSegmentEnd > Unacknowledged && smallSegmentEnd <= Next) return false;
        }
        var flags = TcpFlags.Ack | (all ? TcpFlags.Psh : TcpFlags.None);
        if (all && finDue) flags |= TcpFlags.Fin;
        c.Transmit(Next, flags, offset, length, now);
        if (timing is null && !c.TimestampsEnabled) timing = (Next, now); // RFC 6298 with Karn: one timed segment per round trip
        Advance(length, (flags & TcpFlags.Fin) != 0, now);
        if (length % mss != 0) smallSegmentEnd = Next; // the last (or only) segment was short
        return true;
    }

    /// <summary>send(MSG_OOB): SND.UP moves to the end of what is queued (Linux's tcp_mark_urg).</summary>
    public void MarkUrgent() => UrgentPointer = bufferSequence + Buffer.Count;

    /// <summary>
    /// The urgent pointer a segment starting at <paramref name="sequence"/> carries: SND.UP - SEG.SEQ
    /// while SND.UP is beyond it, as Linux's tcp_transmit_skb (0xFFFF when SND.UP is farther than
    /// 16 bits reach and the segment starts within 0xFFFF of SND.NXT). False: no URG.
    /// </summary>
    public bool UrgentField(SeqNumber sequence, out ushort pointer)
    {
        pointer = 0;
        if (!UrgentMode || sequence >= UrgentPointer) return false;
        int distance = UrgentPointer - sequence;
        if (distance < 0x10000) { pointer = (ushort)distance; return true; }
        if (sequence + 0xFFFF > Next) { pointer = 0xFFFF; return true; }
        return false;
    }

    /// <summary>
    /// RFC 5681 4.1: after an idle period longer than the RTO, cwnd shrinks towards
    /// RW = min(IW, cwnd), halved once per RTO of idleness, as Linux's tcp_cwnd_restart does.
    /// </summary>
    private void RestartAfterIdle(Instant now)
    {
        if (Max != Unacknowledged || lastDataSent == default || Congestion.Window == 0) return;
        var idle = now - lastDataSent;
        if (idle > Rtt.Rto) Congestion.RestartAfterIdle(idle, Rtt.Rto);
    }

    private void Advance(int length, bool fin, Instant now)
    {
        if (length > 0) lastDataSent = now;
        Next += length;
        if (fin) { FinSequence = Next; Next += 1; }
        if (Max < Next) Max = Next;
        if (RetransmitAt == Instant.MaxValue) ArmRetransmit(now);
    }

    /// <summary>
    /// Resends from <paramref name="point"/>: up to one MSS of data already sent (at most
    /// <paramref name="limit"/> bytes) and the FIN if it follows. Returns where the next resend starts.
    /// </summary>
    private SeqNumber SendFrom(SeqNumber point, int limit, Instant now)
    {
        if (FinSequence is { } fin && point == fin)
        {
            layer.Why = RetransmissionNote();
            c.Transmit(fin, TcpFlags.Fin | TcpFlags.Ack, 0, 0, now);
            return fin + 1;
        }
        int offset = point - bufferSequence;
        int end = (FinSequence ?? Next) - bufferSequence;
        int length = Math.Min(Math.Min(end - offset, SegmentSize), limit);
        if (offset < 0 || length <= 0) return point;
        layer.Why = RetransmissionNote();
        var flags = TcpFlags.Ack;
        if (offset + length == Buffer.Count) flags |= TcpFlags.Psh; // as when first sent
        if (FinSequence is { } f && point + length == f) flags |= TcpFlags.Fin;
        c.Transmit(point, flags, offset, length, now);
        return point + length + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
    }

    /// <summary>RFC 9293 3.10.7.4, fifth step: SND.WND from a segment newer than the last update (SND.WL1, SND.WL2).</summary>
    public void UpdateWindow(in TcpSegment seg, int window, Instant now)
    {
        if (Wl1 < seg.Sequence || (Wl1 == seg.Sequence && Wl2 <= seg.Acknowledgment))
            SetWindow(window, seg.Sequence, seg.Acknowledgment, now);
    }

    public void SetWindow(int window, SeqNumber wl1, SeqNumber wl2, Instant now)
    {
        Window = window;
        MaxWindow = Math.Max(MaxWindow, window);
        Wl1 = wl1;
        Wl2 = wl2;
        if (Window > 0)
        {
            if (PersistAt != Instant.MaxValue) layer.TraceTimer(c, TcpTimer.Persist, TimerAction.Cancelled, now);
            PersistAt = Instant.MaxValue;
            persistBackoff = TimeSpan.Zero;
            WindowProbes = 0;
        }
    }

    /// <summary>A closed window with data waiting and nothing in flight: the persist timer will probe it (RFC 9293 3.8.6.1).</summary>
    private void ArmPersistIfStuck(Instant now)
    {
        if (Unsent == 0 || Window > 0 || Max != Unacknowledged || PersistAt != Instant.MaxValue) return;
        BackOffPersist();
        PersistAt = now + persistBackoff;
        layer.TraceTimer(c, TcpTimer.Persist, TimerAction.Armed, now, persistBackoff, persistBackOffs);
    }

    /// <summary>
    /// RFC 9293 3.8.6.1: probe a zero window with one byte, backing off. The connection lives on as
    /// long as the peer answers (unless the application closed it); after as many unanswered
    /// probes as retransmissions are allowed (Linux: tcp_retries2) it is given up, in any state,
    /// FIN-WAIT-1 and LAST-ACK included.
    /// </summary>
    public void OnPersistTimeout(Instant now)
    {
        PersistAt = Instant.MaxValue;
        if (Window > 0 || Unsent == 0) { c.Output(now); return; }
        // Linux tcp_probe_timer: give up after tcp_retries2 unanswered probes, silently (tcp_write_err);
        // a closed (orphaned) socket also once the probes are backed off to the maximum, answered or not.
        if (++ProbesOut > options.MaxRetransmissions || (c.Orphaned && persistBackoff >= options.MaximumRto))
        {
            layer.Counters.Increment(Diagnostics.Counter.TcpTimeouts);
            c.Terminate(now, Errno.ETIMEDOUT);
            return;
        }
        // The note numbers the probe within this zero-window period and gives the interval it waited:
        // an answering ACK resets ProbesOut (the give-up count) but not the back-off, as in Linux.
        WindowProbes++;
        layer.Why = new(FrameReason.TcpPersistProbe, WindowProbes, (int)persistBackoff.TotalMilliseconds);
        c.Transmit(Next, TcpFlags.Ack, Next - bufferSequence, 1, now);
        if (Max < Next + 1) Max = Next + 1; // an ACK of the probe byte moves SND.NXT past it
        BackOffPersist();
        PersistAt = now + persistBackoff;
        layer.TraceTimer(c, TcpTimer.Persist, TimerAction.Armed, now, persistBackoff, persistBackOffs);
    }

    /// <summary>What a resend is: after a timeout (go-back-N) the n-th retransmission with its RTO, else fast or SACK recovery.</summary>
    private FrameNote RetransmissionNote() =>
        goBackN is not null || !inRecovery ? new(FrameReason.TcpRetransmission, Retransmissions, (int)Rtt.Rto.TotalMilliseconds)
        : new(c.SackEnabled ? FrameReason.TcpSackRetransmission : FrameReason.TcpFastRetransmission);

    /// <summary>The first probe waits one RTO, each next one twice as long, up to the maximum RTO.</summary>
    private void BackOffPersist()
    {
        var next = Min(persistBackoff == TimeSpan.Zero ? Rtt.Rto : persistBackoff * 2, options.MaximumRto);
        persistBackOffs = persistBackoff == TimeSpan.Zero ? 0 : next > persistBackoff ? persistBackOffs + 1 : persistBackOffs;
        persistBackoff = next;
    }

    /// <summary>How many times the persist interval has doubled since the window closed (for the trace).</summary>
    private int persistBackOffs;

    // What the trace shows of the retransmission timer (RFC 6298 5): a learner needs to see it start
    // (armed, with its RTO), stop (everything acknowledged), fire, and each back-off after a timeout.
    // RFC 6298 5.3 restarts it on every ACK of new data; a line per ACK would drown the trace and
    // tell nothing new, so a restart of a running timer is traced only when the RTO it runs for
    // changed since the last line (a new RTT sample moved it, or an ACK ended a back-off).
    private TimeSpan tracedRto;

    /// <summary>Starts (or restarts) the retransmission timer for one RTO; <paramref name="backedOff"/>: after a timeout, with the back-off count.</summary>
    private void ArmRetransmit(Instant now, bool backedOff = false)
    {
        bool running = RetransmitAt != Instant.MaxValue && !backedOff;
        RetransmitAt = now + Rtt.Rto;
        if (!layer.Tracing) return;
        if (!running) layer.TraceTimer(c, TcpTimer.Retransmission, TimerAction.Armed, now, Rtt.Rto, Retransmissions);
        else if (Rtt.Rto != tracedRto) layer.TraceTimer(c, TcpTimer.Retransmission, TimerAction.Restarted, now, Rtt.Rto, Retransmissions);
        tracedRto = Rtt.Rto;
    }

    /// <summary>RFC 6298 5.2: all outstanding data acknowledged: the timer stops.</summary>
    private void StopRetransmit(Instant now)
    {
        if (RetransmitAt != Instant.MaxValue) layer.TraceTimer(c, TcpTimer.Retransmission, TimerAction.Cancelled, now);
        RetransmitAt = Instant.MaxValue;
    }

    public void StopTimers()
    {
        RetransmitAt = Instant.MaxValue;
        PersistAt = Instant.MaxValue;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
