using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// One Transmission Control Block (RFC 9293 3.3.1): the state, the send and receive sequence
/// variables under their RFC names, the buffers, and the timers of one connection or listener.
/// Segment arrival is in TcpConnection.Arrival.cs, sending and timers in TcpConnection.Output.cs.
/// </summary>
public sealed partial class TcpConnection : IBoundEndpoint
{
    private readonly TcpLayer layer;
    private readonly TcpOptions options;
    private readonly TokenBucket challengeAcks;

    internal TcpConnection(TcpLayer layer, TcpOptions options)
    {
        this.layer = layer;
        this.options = options;
        SendBuffer = new ByteRing(options.SendBufferSize);
        ReceiveBuffer = new ByteRing(options.ReceiveBufferSize);
        challengeAcks = new TokenBucket(options.ChallengeAcksPerSecond, options.ChallengeAcksPerSecond);
        Rto = options.InitialRto;
    }

    public TcpState State { get; private set; } = TcpState.Closed;
    public Endpoint Local { get; internal set; }
    public Endpoint? Remote { get; internal set; }
    public bool ReuseAddress { get; set; }
    internal bool InTable { get; set; }

    // RFC 9293 3.3.1, send sequence variables.
    public SeqNumber SendUnacknowledged { get; private set; }   // SND.UNA
    public SeqNumber SendNext { get; private set; }             // SND.NXT
    /// <summary>The highest sequence number sent so far (BSD's snd_max): SND.NXT, or one past it while a zero-window probe byte is out.</summary>
    public SeqNumber SendMax { get; private set; }
    public int SendWindow { get; private set; }                 // SND.WND
    public SeqNumber SendWl1 { get; private set; }              // SND.WL1
    public SeqNumber SendWl2 { get; private set; }              // SND.WL2
    public SeqNumber InitialSendSequence { get; private set; }  // ISS
    public int MaxSendWindow { get; private set; }              // MAX.SND.WND (RFC 5961 5.2)

    // RFC 9293 3.3.1, receive sequence variables.
    public SeqNumber ReceiveNext { get; private set; }           // RCV.NXT
    public SeqNumber InitialReceiveSequence { get; private set; } // IRS
    /// <summary>RCV.WND: free receive buffer, at most 65535 (no window scaling yet).</summary>
    public int ReceiveWindow => Math.Min(ReceiveBuffer.Free, ushort.MaxValue);

    /// <summary>The peer's MSS (RFC 9293 3.7.1: 536 when it sent none).</summary>
    public int SendMss { get; private set; } = 536;

    /// <summary>Bytes from SND.UNA on (sent and not yet sent); byte 0 has sequence number <see cref="sendBufferSequence"/>.</summary>
    internal ByteRing SendBuffer { get; }
    internal ByteRing ReceiveBuffer { get; }
    private SeqNumber sendBufferSequence;
    private readonly List<(SeqNumber Sequence, byte[] Data)> outOfOrder = new();

    private bool finQueued;          // the application closed its sending side
    private SeqNumber? finSequence;  // where our FIN sits in sequence space, once sent
    private SeqNumber? peerFin;      // a FIN seen beyond RCV.NXT, waiting for the data before it
    public bool FinReceived { get; private set; }
    public bool ReadShutdown { get; private set; }

    // Timers (each setter tells the layer, which keeps a lower bound of all deadlines) and RFC 6298 state.
    private Instant retransmitAt = Instant.MaxValue, persistAt = Instant.MaxValue, timeWaitAt = Instant.MaxValue, delayedAckAt = Instant.MaxValue;
    internal Instant RetransmitAt { get => retransmitAt; private set => layer.NoteDeadline(retransmitAt = value); }
    internal Instant PersistAt { get => persistAt; private set => layer.NoteDeadline(persistAt = value); }
    internal Instant TimeWaitAt { get => timeWaitAt; private set => layer.NoteDeadline(timeWaitAt = value); }
    public TimeSpan Rto { get; private set; }
    public TimeSpan? SmoothedRtt { get; private set; }
    public TimeSpan RttVariance { get; private set; }
    private (SeqNumber Sequence, Instant SentAt)? timing;
    private int retransmissions;
    private int duplicateAcks;
    private SeqNumber? retransmitPoint; // where go-back-N recovery resends next after a timeout
    private Instant? lastOutOfWindowAck;
    private TimeSpan persistBackoff;

    // Listener state.
    public int Backlog { get; private set; }
    internal TcpConnection? Parent { get; set; }
    private readonly Queue<TcpConnection> acceptQueue = new();
    public int AcceptQueueLength => acceptQueue.Count;

    /// <summary>SO_ERROR: why the connection failed, reported once.</summary>
    public Errno PendingError { get; private set; }
    /// <summary>Called under the host lock when something a socket may wait for happened.</summary>
    public Action? Signal { get; set; }

    /// <summary>When a delayed ACK is due; <see cref="Instant.MaxValue"/> when none is owed.</summary>
    internal Instant DelayedAckAt { get => delayedAckAt; private set => layer.NoteDeadline(delayedAckAt = value); }
    private static readonly TimeSpan DelayedAckTimeout = TimeSpan.FromMilliseconds(40); // Linux's TCP_DELACK_MIN

    /// <summary>Any segment we send carries RCV.NXT: the owed ACK is paid.</summary>
    internal void AckSent() => DelayedAckAt = Instant.MaxValue;

    internal Instant NextDeadline => Instant.Min(Instant.Min(RetransmitAt, DelayedAckAt), Instant.Min(PersistAt, TimeWaitAt));

    public override string ToString() => $"tcp {Local} -> {(Remote is { } r ? r.ToString() : "*")} {State}";

    // ---- the user calls of RFC 9293 3.10 -------------------------------------------------

    /// <summary>OPEN, passive (RFC 9293 3.10.1): LISTEN with a bounded backlog.</summary>
    internal void Listen(int backlog, Instant now)
    {
        Backlog = Math.Clamp(backlog, 1, 4096);
        SetState(TcpState.Listen, now);
    }

    /// <summary>OPEN, active: send SYN, enter SYN-SENT.</summary>
    internal void Open(SeqNumber iss, Instant now)
    {
        ChooseInitialSendSequence(iss);
        SetState(TcpState.SynSent, now);
        layer.SendControl(this, iss, TcpFlags.Syn, withMss: true, now);
        ArmRetransmit(now);
        timing = (iss, now);
    }

    /// <summary>A listener's child, made from the SYN that reached it (RFC 9293 3.10.7.2).</summary>
    internal void AcceptSyn(TcpConnection parent, in TcpSegment syn, SeqNumber iss, Instant now)
    {
        Parent = parent;
        InitialReceiveSequence = syn.Sequence;
        ReceiveNext = syn.Sequence + 1;
        ChooseInitialSendSequence(iss);
        UpdateWindow(syn, force: true);
        if (syn.Options.MaximumSegmentSize is ushort mss) SendMss = Math.Max((int)mss, 64);
        SetState(TcpState.SynReceived, now);
        layer.SendControl(this, iss, TcpFlags.Syn | TcpFlags.Ack, withMss: true, now);
        ArmRetransmit(now);
        timing = (iss, now);
    }

    /// <summary>RFC 9293 3.4: SND.UNA = ISS, SND.NXT = ISS + 1 (the SYN), data from ISS + 1.</summary>
    private void ChooseInitialSendSequence(SeqNumber iss)
    {
        InitialSendSequence = iss;
        SendUnacknowledged = iss;
        SendNext = iss + 1;
        SendMax = SendNext;
        sendBufferSequence = iss + 1;
    }

    public bool CanAccept => acceptQueue.Count > 0;

    public TcpConnection? TakeAccepted() => acceptQueue.TryDequeue(out var c) ? c : null;

    /// <summary>SEND: queues as much as the send buffer takes and transmits what the window allows.</summary>
    public int Send(ReadOnlySpan<byte> data, Instant now, out Errno error)
    {
        error = TakeError();
        if (error != Errno.Ok) return 0;
        if (finQueued || !State.CanSend()) { error = State == TcpState.Closed ? Errno.ENOTCONN : Errno.EPIPE; return 0; }
        int n = SendBuffer.Write(data);
        if (n == 0) { error = Errno.EAGAIN; return 0; }
        if (State.IsSynchronized()) Output(now);
        return n;
    }

    public int SendBufferCapacity => SendBuffer.Capacity;
    public int ReceiveBufferCapacity => ReceiveBuffer.Capacity;
    public bool IsWritable => (State.CanSend() && !finQueued && SendBuffer.Free > 0) || PendingError != Errno.Ok || State == TcpState.Closed;
    public int Available => ReceiveBuffer.Count;
    public bool IsReadable => ReceiveBuffer.Count > 0 || FinReceived || PendingError != Errno.Ok || State == TcpState.Closed || acceptQueue.Count > 0;
    public bool IsConnecting => State is TcpState.SynSent or TcpState.SynReceived;

    /// <summary>RECEIVE: takes in-order bytes; 0 with EOF once the peer's FIN was read.</summary>
    public int Receive(Span<byte> destination, bool peek, Instant now, out Errno error)
    {
        error = Errno.Ok;
        if (ReceiveBuffer.Count == 0)
        {
            error = TakeError();
            if (error != Errno.Ok) return 0;
            if (FinReceived || ReadShutdown) return 0; // end of stream
            error = State is TcpState.Closed or TcpState.Listen ? Errno.ENOTCONN : Errno.EAGAIN;
            return 0;
        }
        int windowBefore = ReceiveWindow;
        int n = peek ? ReceiveBuffer.Peek(0, destination) : ReceiveBuffer.Read(destination);
        // Tell the peer when the window opens by a segment or more (RFC 9293 3.8.6.2.2, receiver SWS avoidance).
        if (!peek && State.IsSynchronized() && ReceiveWindow - windowBefore >= Math.Min(SendMss, ReceiveBuffer.Capacity / 2) && windowBefore < SendMss * 2)
            SendAck(now);
        return n;
    }

    /// <summary>CLOSE (RFC 9293 3.10.4): FIN after the queued data; RST if unread data would be lost.</summary>
    internal void Close(Instant now)
    {
        switch (State)
        {
            case TcpState.Listen:
            case TcpState.SynSent:
            case TcpState.Closed:
                Terminate(now, Errno.Ok);
                return;
        }
        if (ReceiveBuffer.Count > 0)
        {
            // RFC 2525 2.17: closing with unread data resets the connection.
            Abort(now, Errno.Ok);
            return;
        }
        ShutdownWrite(now);
    }

    /// <summary>shutdown(SHUT_WR): queue our FIN.</summary>
    public void ShutdownWrite(Instant now)
    {
        if (finQueued) return;
        switch (State)
        {
            case TcpState.SynReceived: finQueued = true; return; // FIN-WAIT-1 once the handshake completes
            case TcpState.Established: finQueued = true; SetState(TcpState.FinWait1, now); break;
            case TcpState.CloseWait: finQueued = true; SetState(TcpState.LastAck, now); break;
            case TcpState.SynSent: Terminate(now, Errno.Ok); return;
            default: return;
        }
        Output(now);
    }

    /// <summary>shutdown(SHUT_RD): no more reading; what arrives is discarded.</summary>
    public void ShutdownRead()
    {
        ReadShutdown = true;
        ReceiveBuffer.Discard(ReceiveBuffer.Count);
        Signal?.Invoke();
    }

    /// <summary>ABORT (RFC 9293 3.10.5): RST to the peer and forget the connection.</summary>
    public void Abort(Instant now, Errno error)
    {
        if (State is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait)
            layer.SendControl(this, SendNext, TcpFlags.Rst | TcpFlags.Ack, withMss: false, now);
        Terminate(now, error);
    }

    public Errno TakeError()
    {
        var e = PendingError;
        PendingError = Errno.Ok;
        return e;
    }

    private void SetState(TcpState next, Instant now)
    {
        if (next == State) return;
        layer.Trace(this, State, next, now);
        State = next;
        Signal?.Invoke();
    }

    /// <summary>Enters CLOSED: timers off, out of the table, waiters told (with an error, if any).</summary>
    internal void Terminate(Instant now, Errno error)
    {
        if (error != Errno.Ok) PendingError = error;
        RetransmitAt = PersistAt = TimeWaitAt = DelayedAckAt = Instant.MaxValue;
        SetState(TcpState.Closed, now);
        layer.Forget(this);
        while (acceptQueue.TryDequeue(out var child)) child.Abort(now, Errno.ECONNABORTED);
        Signal?.Invoke();
    }
}
