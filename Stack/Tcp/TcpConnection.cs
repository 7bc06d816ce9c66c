using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// One Transmission Control Block (RFC 9293 3.3.1): the state machine and the user calls of one
/// connection or listener. The send side lives in <see cref="Sender"/>, the receive side in
/// <see cref="Receiver"/>; segment arrival is TcpConnection.Arrival.cs, the options both SYNs
/// negotiate TcpConnection.Options.cs, the timers TcpConnection.Timers.cs, segments out TcpConnection.Output.cs, a listener and its children TcpConnection.Listener.cs.
/// </summary>
public sealed partial class TcpConnection : IBoundEndpoint
{
    private readonly TcpLayer layer;
    private readonly TcpOptions options;
    private TokenBucket? challengeAcks; // made at the first challenge ACK: most connections never send one
    private readonly Sender sender;
    private readonly Receiver receiver;

    internal TcpConnection(TcpLayer layer, TcpOptions options)
    {
        this.layer = layer;
        this.options = options;
        sender = new Sender(this, layer, options);
        receiver = new Receiver(layer, options, this);
        KeepAliveIdle = options.KeepAliveIdle;
        KeepAliveInterval = options.KeepAliveInterval;
        KeepAliveCount = options.KeepAliveCount;
        sender.NoDelay = options.NoDelay;
    }

    public TcpState State { get; private set; } = TcpState.Closed;
    public Endpoint Local { get; internal set; }
    public Endpoint? Remote { get; internal set; }
    public bool ReuseAddress { get; set; }
    internal bool InTable { get; set; }
    internal Sender Sender => sender;
    internal Receiver Receiver => receiver;

    // The RFC 9293 3.3.1 variables, for tests, traces and socket information.
    public SeqNumber SendUnacknowledged => sender.Unacknowledged;   // SND.UNA
    public SeqNumber SendNext => sender.Next;                       // SND.NXT
    public int SendWindow => sender.Window;                         // SND.WND
    public SeqNumber InitialSendSequence => sender.Initial;         // ISS
    public SeqNumber ReceiveNext => receiver.Next;                  // RCV.NXT
    public int ReceiveWindow => receiver.Window;                    // RCV.WND
    public SeqNumber InitialReceiveSequence => receiver.Initial;    // IRS
    /// <summary>The effective send MSS: data bytes per segment.</summary>
    public int SendMss => sender.Mss;
    public TimeSpan Rto => sender.Rtt.Rto;
    public TimeSpan? SmoothedRtt => sender.Rtt.Smoothed;
    public int CongestionWindow => sender.Congestion.Window;
    public int SlowStartThreshold => sender.Congestion.SlowStartThreshold;
    public string CongestionControl => sender.Congestion.Name;

    internal ByteRing SendBuffer => sender.Buffer;
    internal ByteRing ReceiveBuffer => receiver.Buffer;

    private SeqNumber? peerFin;      // a FIN seen beyond RCV.NXT, waiting for the data before it
    private byte[]? synText;         // data that came on the peer's SYN, delivered once ESTABLISHED
    private Errno endError; private bool aborting; // why the connection ends, for the trace of its last transition
    private bool orphaned;           // the application closed the socket: nobody will read
    internal bool Orphaned => orphaned;
    public bool FinReceived { get; private set; }
    public bool ReadShutdown => receiver.ReadShutdown;
    /// <summary>Our side is closed for sending (shutdown(SHUT_WR) or close queued our FIN).</summary>
    public bool WriteShutdown => sender.FinQueued;
    private Instant? lastOutOfWindowAck;

    /// <summary>TCP_CONGESTION: switches the algorithm ("cubic" or "newreno"); false if the name is unknown.</summary>
    public bool SetCongestionControl(string name)
    {
        if (!Congestion.CongestionControl.IsKnown(name)) return false;
        if (name != sender.Congestion.Name) sender.UseCongestionControl(name);
        return true;
    }

    /// <summary>TCP_NODELAY: small segments go out at once, without waiting for earlier ones to be acknowledged.</summary>
    public bool NoDelay { get => sender.NoDelay; set => sender.NoDelay = value; }

    /// <summary>SO_ERROR: why the connection failed, reported once.</summary>
    public Errno PendingError { get; private set; }
    /// <summary>Called under the host lock when something a socket may wait for happened.</summary>
    public Action? Signal { get; set; }

    public override string ToString() => $"tcp {Local} -> {(Remote is { } r ? r.ToString() : "*")} {State}";

    /// <summary>TCP_INFO's content: state, timers and congestion, like Linux's struct tcp_info.</summary>
    public TcpInfo Info => new(State, sender.Rtt.Rto, sender.Rtt.Smoothed ?? TimeSpan.Zero, sender.Rtt.Variance,
        sender.Congestion.Name, sender.Congestion.Window, sender.Congestion.SlowStartThreshold, sender.InRecovery,
        sender.Retransmissions, sender.TotalRetransmissions, sender.Mss, LocalMss,
        WindowScalingEnabled ? sender.WindowShift : null, WindowScalingEnabled ? receiver.WindowShift : null,
        TimestampsEnabled, SackEnabled, sender.Scoreboard.SackedBytes, sender.FlightSize, sender.Window, receiver.Window);

    // ---- the user calls of RFC 9293 3.10 -------------------------------------------------

    /// <summary>OPEN, active: send SYN, enter SYN-SENT.</summary>
    internal void Open(SeqNumber iss, uint timestampOffset, Instant now)
    {
        sender.Start(iss);
        this.timestampOffset = timestampOffset;
        SetState(TcpState.SynSent, now);
        SendSyn(now);
        sender.StartSynTimer(now);
    }

    /// <summary>The handshake is over: cwnd starts (RFC 6928) and the RTO falls back to 3 s if a SYN timed out (RFC 6298 5.7).</summary>
    private void Established(Instant now)
    {
        SetState(sender.FinQueued ? TcpState.FinWait1 : TcpState.Established, now);
        sender.Congestion.Start(sender.Mss);
        if (sender.SynRetransmitted) sender.Rtt.UseFallback();
        if (keepAlive) SetKeepAlive(true, now);
        if (synText is { } text)
        {
            synText = null;
            receiver.Accept(receiver.Next, text, int.MaxValue, out _, now);
            SendAck(now); // the seventh step acknowledges the text it took
            Signal?.Invoke();
        }
    }

    /// <summary>SEND: queues as much as the send buffer takes and transmits what the windows allow.</summary>
    /// <remarks><paramref name="urgent"/> (send with MSG_OOB): SND.UP moves to the end of the queued bytes.</remarks>
    public int Send(ReadOnlySpan<byte> data, Instant now, out Errno error, bool urgent = false)
    {
        error = TakeError();
        if (error != Errno.Ok) return 0;
        if (sender.FinQueued || !State.CanSend()) { error = State == TcpState.Closed ? Errno.ENOTCONN : Errno.EPIPE; return 0; }
        int n = sender.Buffer.Write(data);
        if (n == 0) { error = Errno.EAGAIN; return 0; }
        if (urgent) sender.MarkUrgent();
        if (State.IsSynchronized()) Output(now);
        return n;
    }

    public int SendBufferCapacity => sender.Buffer.Capacity;
    public int ReceiveBufferCapacity => receiver.Buffer.Capacity;
    public bool IsWritable => (State.CanSend() && !sender.FinQueued && HasWriteSpace) || PendingError != Errno.Ok || State == TcpState.Closed;

    /// <summary>
    /// Linux's sk_stream_is_writeable: the send buffer has room for half of what it holds. Writers are
    /// woken (and poll reports POLLOUT) only then, not for the few bytes each ACK frees: a blocked bulk
    /// writer wakes once per third of the buffer instead of once per ACK.
    /// </summary>
    internal bool HasWriteSpace => sender.Buffer.Free > 0 && sender.Buffer.Free >= sender.Buffer.Count / 2;
    public int Available => receiver.Buffer.Count;
    /// <summary>Bytes queued to send and not yet acknowledged (SIOCOUTQ).</summary>
    public int Unacknowledged => sender.Buffer.Count;
    public bool IsReadable => receiver.Buffer.Count > 0 || FinReceived || PendingError != Errno.Ok || State == TcpState.Closed || AcceptQueueLength > 0;
    public bool IsConnecting => State is TcpState.SynSent or TcpState.SynReceived;

    /// <summary>
    /// RECEIVE: takes in-order bytes; 0 with Ok means end of stream and nothing else. A destination
    /// with no room is EINVAL here (the socket layers answer a zero-length read with 0 themselves,
    /// as Linux and .NET do, before asking), so that it cannot be mistaken for the end.
    /// </summary>
    public int Receive(Span<byte> destination, bool peek, Instant now, out Errno error)
    {
        if (destination.IsEmpty) { error = Errno.EINVAL; return 0; }
        error = Errno.Ok;
        if (receiver.Buffer.Count == 0)
        {
            error = TakeError();
            if (error != Errno.Ok) return 0;
            if (FinReceived || ReadShutdown) return 0; // end of stream
            error = State is TcpState.Closed or TcpState.Listen ? Errno.ENOTCONN : Errno.EAGAIN;
            return 0;
        }
        // Linux's tcp_recvmsg: a read stops before the urgent mark; at the mark the urgent byte is
        // skipped unless SO_OOBINLINE (it was taken out of band), and once read past, the mark is gone.
        int skip = 0, limit = receiver.Buffer.Count;
        if (urgentData != UrgentData.None)
        {
            int at = urgentSequence - ReadSequence;
            if (at == 0) skip = UrgentInline ? 0 : 1;
            else if (at > 0 && at < limit) limit = at;
        }
        if (limit - skip == 0)
        {
            if (!peek) { receiver.Buffer.Discard(skip); urgentData = UrgentData.None; }
            error = FinReceived || ReadShutdown ? Errno.Ok : Errno.EAGAIN;
            return 0;
        }
        var into = destination[..Math.Min(destination.Length, limit - skip)];
        int n;
        if (peek) n = receiver.Buffer.Peek(skip, into);
        else
        {
            receiver.Buffer.Discard(skip);
            n = receiver.Buffer.Read(into);
            if (urgentData != UrgentData.None && ReadSequence > urgentSequence) urgentData = UrgentData.None;
        }
        if (receiver.Buffer.Count == 0 && State is TcpState.TimeWait or TcpState.Closed) receiver.Buffer.Release(); // nothing more can arrive
        // Receiver SWS avoidance (RFC 9293 3.8.6.2.2): announce the window once it grew by a segment or half the buffer.
        if (!peek && State.IsSynchronized() && !FinReceived && receiver.WindowUpdateWorthSending(ReceiveMss)) SendWindowUpdate(now);
        return n;
    }

    /// <summary>
    /// The in-order bytes waiting to be read, in place in the receive buffer (up to two pieces);
    /// they stay valid until <see cref="ConsumeReceived"/> takes them (a pipe reads without a copy).
    /// </summary>
    public int PeekReceived(out ReadOnlyMemory<byte> first, out ReadOnlyMemory<byte> second) => receiver.Buffer.GetReadable(out first, out second);

    /// <summary>RECEIVE of bytes already looked at in place: drops them and updates the window as <see cref="Receive"/> does.</summary>
    public void ConsumeReceived(int count, Instant now)
    {
        if (count <= 0) return;
        receiver.Buffer.Discard(count);
        if (urgentData != UrgentData.None && ReadSequence > urgentSequence) urgentData = UrgentData.None; // read past the mark, as Receive
        if (receiver.Buffer.Count == 0 && State is TcpState.TimeWait or TcpState.Closed) receiver.Buffer.Release();
        if (State.IsSynchronized() && !FinReceived && receiver.WindowUpdateWorthSending(ReceiveMss)) SendWindowUpdate(now);
    }

    /// <summary>The largest segment the peer may send us: our MSS less the options on every segment.</summary>
    internal int ReceiveMss => Math.Max(1, LocalMss - OptionOverhead);

    /// <summary>
    /// TCP_MAXSEG as set by the application (Linux's user_mss): caps the MSS our SYN announces and
    /// the MSS we send with; null is no cap (the MTU decides).
    /// </summary>
    public int? UserMss { get; set; }

    /// <summary>The MSS we announce: what the MTU carries, capped by <see cref="UserMss"/>.</summary>
    public int LocalMss => layer.LocalMss(UserMss, Remote);

    /// <summary>IP_TOS and IP_TTL of the IPv4 headers this connection sends.</summary>
    public byte TypeOfService { get; set; }
    public byte TimeToLive { get; set; } = Ipv4Repr.DefaultTimeToLive;

    /// <summary>
    /// SO_SNDBUF / SO_RCVBUF: new buffer capacities, taken only before the connection starts (the
    /// receive window and its scale are announced from the buffer in the SYN); false afterwards.
    /// </summary>
    public bool TryResizeBuffers(int? sendCapacity, int? receiveCapacity)
    {
        if (State is not (TcpState.Closed or TcpState.Listen) || Remote is not null) return false;
        if (sendCapacity is int s && s != sender.Buffer.Capacity && !sender.Buffer.TryResize(s)) return false;
        if (receiveCapacity is int r && r != receiver.Buffer.Capacity && !receiver.Buffer.TryResize(r)) return false;
        return true;
    }

    /// <summary>CLOSE (RFC 9293 3.10.4): FIN after the queued data; RST if unread data would be lost.</summary>
    internal void Close(Instant now)
    {
        orphaned = true;
        switch (State)
        {
            case TcpState.Listen:
            case TcpState.SynSent:
            case TcpState.Closed:
                Terminate(now, Errno.Ok);
                return;
        }
        if (receiver.Buffer.Count > 0)
        {
            // RFC 2525 2.17: closing with unread data resets the connection.
            Abort(now, Errno.Ok);
            return;
        }
        receiver.ReadShutdown = receiver.Discard = true; // nobody will read: data that still arrives is answered with a RST
        ShutdownWrite(now);
        if (State == TcpState.FinWait2) StartFinWait2Timer(now);
    }

    /// <summary>shutdown(SHUT_WR): queue our FIN.</summary>
    public void ShutdownWrite(Instant now)
    {
        if (sender.FinQueued) return;
        switch (State)
        {
            case TcpState.SynReceived: sender.FinQueued = true; return; // FIN-WAIT-1 once the handshake completes
            case TcpState.Established: sender.FinQueued = true; SetState(TcpState.FinWait1, now); break;
            case TcpState.CloseWait: sender.FinQueued = true; SetState(TcpState.LastAck, now); break;
            case TcpState.SynSent: Terminate(now, Errno.Ok); return;
            default: return;
        }
        Output(now);
    }

    /// <summary>
    /// shutdown(SHUT_RD): reads end at the end of what is buffered. As in Linux, data already here
    /// and data that still arrives stay readable (tcp_recvmsg copies queued data before it looks at
    /// RCV_SHUTDOWN); once our FIN is out, new data gets a RST (RFC 1122 4.2.2.13, see Arrival).
    /// </summary>
    public void ShutdownRead()
    {
        receiver.ReadShutdown = true;
        Signal?.Invoke();
    }

    /// <summary>ABORT (RFC 9293 3.10.5): RST to the peer and forget the connection.</summary>
    public void Abort(Instant now, Errno error)
    {
        aborting = error != Errno.ETIMEDOUT && error != Errno.ECONNABORTED;
        if (State is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait)
            Transmit(sender.Next, TcpFlags.Rst | TcpFlags.Ack, 0, 0, now);
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
        if (layer.Tracing) layer.Trace(this, State, next, Diagnostics.StateTransitions.CauseOf(State, next, endError, aborting), now);
        CountHalfOpen(State, next);
        State = next;
        if (next == TcpState.FinWait2 && orphaned) StartFinWait2Timer(now);
        Signal?.Invoke();
    }

    /// <summary>Enters CLOSED: timers off, out of the table, waiters told (with an error, if any).</summary>
    internal void Terminate(Instant now, Errno error)
    {
        if (State == TcpState.Closed && !InTable) return;
        // Linux tcp_write_err: a connection that times out reports the last ICMP error it was told, if any.
        if (error == Errno.ETIMEDOUT && SoftError != Errno.Ok) error = SoftError;
        if (error != Errno.Ok) PendingError = error;
        bool wasListening = State == TcpState.Listen;
        endError = error;
        sender.StopTimers();
        receiver.DelayedAckAt = TimeWaitAt = KeepAliveAt = FinWait2At = Instant.MaxValue;
        receiver.OutOfOrder.Clear();
        ReleaseBuffers();
        SetState(TcpState.Closed, now);
        layer.Forget(this);
        if (wasListening)
        {
            // Half-open children die silently with their listener, as in Linux (their SYN-ACK goes
            // unanswered; a late ACK meets a RST from the closed port). Established, unaccepted ones are reset.
            foreach (var child in layer.HalfOpenChildren(this)) child.Terminate(now, Errno.ECONNABORTED);
            while (TakeAccepted() is { } c) c.Abort(now, Errno.ECONNABORTED);
        }
        Signal?.Invoke();
    }

    /// <summary>Returns buffer storage that can no longer be used: all of the send side, the receive side once read (data waiting stays readable).</summary>
    private void ReleaseBuffers()
    {
        sender.Buffer.Release();
        if (receiver.Buffer.Count == 0) receiver.Buffer.Release();
    }
}
