using System.Buffers.Binary;
using UserStack.Diagnostics;
using UserStack.Icmp;
using UserStack.Ip;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// TCP (RFC 9293): finds the connection of each segment, answers segments for no connection
/// with RST (3.10.7.1), handles LISTEN (3.10.7.2) and hands everything else to the connection's
/// SEGMENT ARRIVES; builds outgoing segments; runs the connections' timers.
/// </summary>
public sealed partial class TcpLayer : IIpProtocolHandler, IIcmpErrorHandler
{
    private readonly NetStack stack;
    private readonly InitialSequenceNumbers isns;
    private readonly SynCookies cookies;
    private readonly HashSet<TcpConnection> live = new();
    private readonly List<TcpConnection> due = new();

    internal TcpLayer(NetStack stack, EphemeralPortAllocator ephemeral, byte[] secret, TcpOptions options)
    {
        this.stack = stack;
        isns = new InitialSequenceNumbers(secret);
        cookies = new SynCookies(secret);
        Options = options;
        TimeWaits = new PortTable<TimeWaitRecord>(ephemeral);
        Table = new PortTable<TcpConnection>(ephemeral) { AlsoHeldBy = TimeWaits };
        timeWaitChallengeAcks = new TokenBucket(options.ChallengeAcksPerSecond, options.ChallengeAcksPerSecond);
    }

    public TcpOptions Options { get; }
    public PortTable<TcpConnection> Table { get; }
    public IReadOnlyCollection<TcpConnection> Connections => live;
    internal Counters Counters => stack.Counters;
    /// <summary>Our MSS: the MTU less the IPv4 and TCP headers (RFC 9293 3.7.1).</summary>
    public int OurMss => stack.Ipv4.Mtu - Ipv4Packet.MinimumHeaderLength - TcpSegment.MinimumHeaderLength;
    /// <summary>Our MSS towards <paramref name="remote"/>: the MTU of the link its route leaves by, less 40 (the first link's while unconnected).</summary>
    internal int MssFor(Endpoint? remote) =>
        (remote is { } r ? stack.Ipv4.MtuFor(r.Address) : stack.Ipv4.Mtu) - Ipv4Packet.MinimumHeaderLength - TcpSegment.MinimumHeaderLength;

    /// <summary>The MSS a connection announces towards <paramref name="remote"/>: what the MTU carries, capped by TCP_MAXSEG.</summary>
    internal int LocalMss(int? userMss, Endpoint? remote) => userMss is int user ? Math.Min(user, MssFor(remote)) : MssFor(remote);

    public TcpConnection Open() => new(this, Options);

    public Errno Bind(TcpConnection c, Endpoint local)
    {
        if (c.InTable) return Errno.EINVAL;
        if (!local.Address.IsUnspecified && !stack.Ipv4.IsLocal(local.Address)) return Errno.EADDRNOTAVAIL;
        var e = Table.Choose(local, c.ReuseAddress, null, out var chosen);
        if (e != Errno.Ok) return e;
        c.Local = chosen;
        Table.Add(c);
        c.InTable = true;
        return Errno.Ok;
    }

    public Errno Listen(TcpConnection c, int backlog, Instant now)
    {
        if (c.State is not (TcpState.Closed or TcpState.Listen) || c.Remote is not null) return Errno.EINVAL;
        if (!c.InTable)
        {
            var e = Bind(c, Endpoint.Any);
            if (e != Errno.Ok) return e;
        }
        c.Listen(backlog, now);
        return Errno.Ok;
    }

    public Errno Connect(TcpConnection c, Endpoint remote, Instant now)
    {
        if (c.State == TcpState.Listen) return Errno.EINVAL;
        if (c.State is TcpState.SynSent or TcpState.SynReceived) return Errno.EALREADY;
        if (c.State != TcpState.Closed || c.Remote is not null) return Errno.EISCONN;
        if (remote.Port == 0 || remote.Address.IsUnspecified || remote.Address.IsMulticast || stack.Ipv4.IsBroadcast(remote.Address)) return Errno.EINVAL;
        if (!stack.Routes.TryGetNextHop(remote.Address, out _)) return Errno.ENETUNREACH;
        if (c.InTable)
        {
            var from = c.Local with { Address = c.Local.Address.IsUnspecified ? stack.Ipv4.SourceFor(remote.Address) : c.Local.Address };
            if (Table.Lookup(c.Local with { Address = stack.Ipv4.Address }, remote) is { Remote: not null } || TimeWaits.Lookup(from, remote) is not null || HalfOpenLookup(from, remote) is not null) return Errno.EADDRINUSE;
            Table.Remove(c);
        }
        else
        {
            var e = Table.Choose(Endpoint.Any, c.ReuseAddress, remote, out var chosen);
            if (e != Errno.Ok) return e;
            c.Local = chosen;
        }
        c.Remote = remote;
        Table.Add(c);
        c.InTable = true;
        live.Add(c);
        var (iss, tsOffset) = InitialSequenceNumber(c.Local, remote, now);
        c.Open(iss, tsOffset, now);
        NoteDeadline(c, c.NextDeadline); // anything armed before it was live
        return Errno.Ok;
    }

    /// <summary>RFC 6528 ISN and timestamp offset (InitialSequenceNumbers.cs).</summary>
    private (SeqNumber Iss, uint TimestampOffset) InitialSequenceNumber(Endpoint local, Endpoint remote, Instant now) =>
        isns.For(local with { Address = local.Address.IsUnspecified ? stack.Ipv4.Address : local.Address }, remote, now);

    public void Receive(in Ipv4Packet ip, Instant now)
    {
        if (stack.Ipv4.IsBroadcast(ip.Destination)) { Drop(DropReason.TcpNoConnection, now); return; } // TCP is unicast only
        if (!TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out var why, stack.ReceiveChecksumTrusted)) { Drop(why, now); return; }
        Counters.Increment(Counter.TcpReceived);
        var local = new Endpoint(ip.Destination, seg.DestinationPort);
        var remote = new Endpoint(ip.Source, seg.SourcePort);
        var c = Table.Lookup(local, remote);
        if (c is not { Remote: not null } && halfOpens.Count != 0 && halfOpens.TryGetValue((local, remote), out var halfOpen))
        {
            if (IsRetransmittedSyn(halfOpen, seg)) { SendSynAck(halfOpen, now); return; }
            c = Thaw(halfOpen); // a SYN-RECEIVED record is its connection again for anything else
        }

        SeqNumber? reopenedIss = null;
        if (c is not { Remote: not null } && TimeWaits.Count != 0 && TimeWaits.Lookup(local, remote) is { } record)
        {
            if (!(record.AcceptsNewSyn(seg, now) && HasListener(local, remote))) { record.SegmentArrives(this, seg, now); return; }
            // RFC 1122 4.2.2.13: a new SYN may reopen the connection from TIME-WAIT, with an ISN
            // above everything the old incarnation used (Linux: its SND.NXT + 65537).
            reopenedIss = record.SendNext + 65537;
            EndTimeWait(record, StateChangeCause.TimeWaitReopened, now);
        }
        else if (c is { State: TcpState.TimeWait } old && old.AcceptsNewSyn(seg, now) && HasListener(local, remote))
        {
            reopenedIss = old.SendNext + 65537; // the same rule, for a connection whose socket is still open
            old.Terminate(now, Errno.Ok);
            c = Table.Lookup(local, remote);
        }
        if (c is null || c.State == TcpState.Closed) { NoConnection(seg, local, remote, now); return; }
        if (c.State == TcpState.Listen) { ListenArrives(c, seg, local, remote, now, reopenedIss); return; }
        c.SegmentArrives(seg, now);
        if (c.ReadyForTimeWaitRecord) RetireToTimeWait(c, now);
        else FreezeIfPlain(c);
    }

    // RFC 9293 3.10.7.1: If the state is CLOSED, every segment but a RST gets a RST.
    private void NoConnection(in TcpSegment seg, Endpoint local, Endpoint remote, Instant now)
    {
        Drop(DropReason.TcpNoConnection, now);
        var flags = seg.Flags;
        if ((flags & TcpFlags.Rst) != 0) return;
        if ((flags & TcpFlags.Ack) != 0) SendReset(seg.Acknowledgment, null, TcpFlags.Rst, local, remote, now);
        else
        {
            int length = seg.Payload.Length + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
            SendReset(new SeqNumber(0), seg.Sequence + length, TcpFlags.Rst | TcpFlags.Ack, local, remote, now);
        }
    }

    // RFC 9293 3.10.7.2: If the state is LISTEN.
    private void ListenArrives(TcpConnection listener, in TcpSegment seg, Endpoint local, Endpoint remote, Instant now, SeqNumber? isn = null)
    {
        var flags = seg.Flags;
        if ((flags & TcpFlags.Rst) != 0) return;                                               // first: ignore RST
        if ((flags & TcpFlags.Ack) != 0)                                                         // second: ACK gets RST, unless it brings back a SYN cookie
        {
            if ((flags & TcpFlags.Syn) == 0 && CookieAckArrives(listener, seg, local, remote, now)) return;
            Why = new(FrameReason.TcpRstToListener);
            SendReset(seg.Acknowledgment, null, TcpFlags.Rst, local, remote, now);
            return;
        }
        if ((flags & TcpFlags.Syn) == 0) { Drop(DropReason.TcpNoAck, now); return; }            // fourth: anything else is dropped
        if ((flags & TcpFlags.Fin) != 0) { Drop(DropReason.TcpSynFin, now); return; }          // SYN+FIN is dropped, as Linux does (RFC 9293 3.10.7.2 would queue the FIN)
        if (listener.AcceptQueueLength >= listener.Backlog) { Drop(DropReason.TcpListenOverflow, now); return; }
        if (isn is null && (Options.SynCookies == SynCookieMode.Always || (SynQueueFull(listener) && Options.SynCookies == SynCookieMode.WhenFull)))
        {
            SendCookie(listener, seg, local, remote, now);
            return;
        }
        if (SynQueueFull(listener)) { Drop(DropReason.TcpListenOverflow, now); return; }

        // Third: the SYN. A child in SYN-RECEIVED, sharing the listener's port: a small record until
        // the third ACK (Linux's request sock), which sends the SYN,ACK (TcpLayer.HalfOpen.cs).
        var (iss, tsOffset) = InitialSequenceNumber(local, remote, now);
        SynArrives(listener, seg, local, remote, isn ?? iss, tsOffset, now);
    }

    /// <summary>A connection of <paramref name="listener"/>'s for one pair, in the port table (from a SYN or a SYN cookie).</summary>
    private TcpConnection OpenChild(TcpConnection listener, Endpoint local, Endpoint remote)
    {
        var child = Open();
        child.ReuseAddress = listener.ReuseAddress;
        child.InheritFrom(listener);
        child.Local = local;
        child.Remote = remote;
        Table.Add(child);
        child.InTable = true;
        live.Add(child);
        NoteDeadline(child, child.NextDeadline); // anything armed before it was live
        return child;
    }

    /// <summary>Whether a listener would take a new SYN for this pair (without one, TIME-WAIT stays, as in Linux).</summary>
    private bool HasListener(Endpoint local, Endpoint remote)
    {
        bool found = false;
        Table.ForEachMatch(local, remote, s => found |= s.State == TcpState.Listen);
        return found;
    }

    /// <summary>
    /// RFC 1122 4.2.3.9 / RFC 5461: an ICMP hard error during the handshake ends the attempt; in a
    /// synchronized state it is only recorded (SO_ERROR's soft error, Linux's sk_err_soft). A
    /// "fragmentation needed" lowers the path MTU (RFC 1191, TcpConnection.PathMtu.cs).
    /// </summary>
    public void ReceiveError(IcmpType type, byte code, int nextHopMtu, in QuotedDatagram quoted, Instant now)
    {
        if (quoted.Transport.Length < 8) return;
        var local = new Endpoint(quoted.Source, BinaryPrimitives.ReadUInt16BigEndian(quoted.Transport));
        var remote = new Endpoint(quoted.Destination, BinaryPrimitives.ReadUInt16BigEndian(quoted.Transport[2..]));
        var c = Table.Lookup(local, remote);
        if (c is not { Remote: not null } && ThawFor(local, remote) is { } halfOpen)
        {
            ErrorArrives(halfOpen, type, code, nextHopMtu, quoted, now);
            if (halfOpen.State != TcpState.Closed) FreezeIfPlain(halfOpen);
            return;
        }
        if (c is not { Remote: not null } && TimeWaits.Lookup(local, remote) is not null) { Drop(DropReason.TcpIcmpOutOfWindow, now); return; } // nothing in flight
        if (c is not null) ErrorArrives(c, type, code, nextHopMtu, quoted, now);
    }

    private void ErrorArrives(TcpConnection c, IcmpType type, byte code, int nextHopMtu, in QuotedDatagram quoted, Instant now)
    {
        if (c.Remote is null || c.State is TcpState.Listen or TcpState.Closed) return;
        // RFC 5927 4.1: the quoted sequence number must be one we sent and is not yet acknowledged.
        var quotedSequence = new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(quoted.Transport[4..]));
        if (!(c.SendUnacknowledged <= quotedSequence && quotedSequence < c.Sender.Max)) { Drop(DropReason.TcpIcmpOutOfWindow, now); return; }
        if (type == IcmpType.DestinationUnreachable && code == IcmpLayer.FragmentationNeeded) { c.ReducePathMtu(nextHopMtu, now); return; }
        var error = IcmpLayer.ToErrno(type, code);
        if (c.State != TcpState.SynSent) { c.NoteSoftError(error); return; } // RFC 5461: in a synchronized state a hard error is only advice
        if (error is Errno.ECONNREFUSED or Errno.ENOPROTOOPT or Errno.EHOSTUNREACH or Errno.ENETUNREACH)
        {
            Counters.Increment(Counter.IcmpErrorsToSockets);
            c.Terminate(now, error == Errno.ENOPROTOOPT ? Errno.ECONNREFUSED : error);
        }
        else c.NoteSoftError(error);
    }

    /// <summary>Called when a connection enters CLOSED: it leaves the table and the timer set.</summary>
    internal void Forget(TcpConnection c)
    {
        if (c.InTable) { Table.Remove(c); c.InTable = false; }
        live.Remove(c);
        c.ReleaseTimer(); // a stale entry in the timer queue must not keep the connection alive
    }

    /// <summary>Called by the socket layer: an unconnected (or listening) endpoint the app closed.</summary>
    public void Close(TcpConnection c, Instant now)
    {
        c.Close(now);
        if (c.State == TcpState.Closed) Forget(c);
        else if (c.ReadyForTimeWaitRecord) RetireToTimeWait(c, now);
    }

    // ---- segments out --------------------------------------------------------------------

    /// <summary>
    /// Builds one segment of a connection: its options (TcpConnection.OptionsFor), the window we
    /// advertise (scaled, except in a SYN), <paramref name="length"/> bytes of the send buffer from
    /// <paramref name="offset"/>, and RCV.NXT as the acknowledgment when the ACK bit is set.
    /// </summary>
    internal void SendSegment(TcpConnection c, SeqNumber sequence, TcpFlags flags, int offset, int length, Instant now)
    {
        bool syn = (flags & TcpFlags.Syn) != 0, ack = (flags & TcpFlags.Ack) != 0, rst = (flags & TcpFlags.Rst) != 0;
        int perSegment = c.Sender.SegmentSize;
        bool superSegment = length > perSegment; // TSO: the device repeats these headers on every piece
        var options = c.OptionsFor(flags, OurMss - Math.Min(length, perSegment), now);
        ushort window = c.Receiver.WindowField(syn, c.ReceiveMss);
        ushort urgent = 0;
        if (!syn && !rst && c.Sender.UrgentField(sequence, out urgent)) flags |= TcpFlags.Urg;
        var repr = new TcpRepr(c.Local.Port, c.Remote!.Value.Port, sequence, ack ? c.ReceiveNext : default, flags, window, urgent, options, length);
        if (length > 0) c.SendBuffer.Peek(offset, stack.Ipv4.PayloadBuffer.Slice(repr.HeaderLength, length));
        if (rst) Counters.Increment(Counter.TcpResetsSent);
        else if (ack) c.AckSent(now);
        stack.SendNote = Why.IsSet ? Why
            : superSegment ? new FrameNote(FrameReason.TcpDataSegmentationOffload, (length + perSegment - 1) / perSegment, perSegment)
            : new FrameNote(ReasonFromFlags(flags, length, c.Parent is null));
        if (superSegment) stack.SendSegmentSize = perSegment;
        Transmit(repr, c.Local.Address, c.Remote.Value.Address, now, c.TypeOfService, c.TimeToLive, c.PathMtuLocked ? PathMtuDiscovery.Dont : PathMtuDiscovery.Do);
        stack.SendNote = Why = default;
        stack.SendSegmentSize = 0;
    }

    /// <summary>
    /// Why the next segment goes, set by the code that decides to send it (a timer, recovery, a RST
    /// rule) and consumed by SendSegment/SendReset; unset, the flags tell (SYN, FIN, data, ACK).
    /// </summary>
    internal FrameNote Why;

    /// <summary>A SYN,ACK of a connection no listener made (<paramref name="activeOpen"/>) answers a SYN in SYN-SENT: a simultaneous open (RFC 9293 3.10.7.3).</summary>
    private static FrameReason ReasonFromFlags(TcpFlags flags, int length, bool activeOpen) =>
        (flags & TcpFlags.Syn) != 0 ? ((flags & TcpFlags.Ack) == 0 ? FrameReason.TcpSyn : activeOpen ? FrameReason.TcpSynAckSimultaneousOpen : FrameReason.TcpSynAck)
        : (flags & TcpFlags.Fin) != 0 ? FrameReason.TcpFin
        : (flags & TcpFlags.Rst) != 0 ? FrameReason.TcpRstAbort
        : length > 0 ? FrameReason.TcpData
        : FrameReason.TcpAck;

    internal void SendReset(SeqNumber sequence, SeqNumber? ack, TcpFlags flags, Endpoint local, Endpoint remote, Instant now)
    {
        Counters.Increment(Counter.TcpResetsSent);
        var repr = new TcpRepr(local.Port, remote.Port, sequence, ack ?? default, flags, 0);
        stack.SendNote = Why.IsSet ? Why : new FrameNote(FrameReason.TcpRstNoConnection);
        Transmit(repr, local.Address, remote.Address, now);
        stack.SendNote = Why = default;
    }

    private void Transmit(in TcpRepr repr, Ipv4Address source, Ipv4Address destination, Instant now, byte typeOfService = 0, byte timeToLive = Ipv4Repr.DefaultTimeToLive, PathMtuDiscovery pathMtu = PathMtuDiscovery.Do)
    {
        if (source.IsUnspecified) source = stack.Ipv4.SourceFor(destination);
        repr.Write(stack.Ipv4.PayloadBuffer, source, destination);
        if (stack.Ipv4.Send(source, destination, IpProtocol.Tcp, repr.Length, now, typeOfService, timeToLive, pathMtu)) Counters.Increment(Counter.TcpSent);
    }

    internal void Drop(DropReason reason, Instant now) => stack.Drop(reason, now);

    /// <summary>The interface towards <paramref name="remote"/> cuts TCP super-segments itself (TSO).</summary>
    internal bool SegmentationOffloadTo(Ipv4Address remote) =>
        stack.Routes.TryLookup(remote, out var hop) && hop.Interface.SegmentationOffload;

    /// <summary>True when someone traces: guard any trace argument that costs more than a field read.</summary>
    internal bool Tracing => stack.Trace is not null;

    internal void Trace(TcpConnection c, TcpState from, TcpState to, StateChangeCause cause, Instant now) =>
        stack.Trace?.Write(new TcpStateChanged(now, Name(c), from.ToString(), to.ToString(), cause));

    internal void TraceCongestion(TcpConnection c, string what, Instant now) =>
        stack.Trace?.Write(new TcpCongestionChanged(now, Name(c), what, c.CongestionWindow, c.SlowStartThreshold, c.Sender.Scoreboard.Count));

    internal void TraceTimer(TcpConnection c, TcpTimer timer, TimerAction action, Instant now, TimeSpan duration = default, int backOff = 0) =>
        stack.Trace?.Write(new TcpTimerChanged(now, Name(c), timer, action, duration, backOff));

    /// <summary>"10.0.0.2:7-10.0.0.1:40000"; a connected socket bound to any address shows the address it sends from.</summary>
    private string Name(TcpConnection c)
    {
        var local = c.Local.Address.IsUnspecified && c.Remote is not null ? new Endpoint(stack.Ipv4.Address, c.Local.Port) : c.Local;
        return $"{local}-{c.Remote?.ToString() ?? "*"}";
    }
}
