using UserStack.Tcp;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>
/// Runs one fuzz input against one NetStack on a virtual clock: every action, then Poll, the
/// peer's answers and the invariants; at the end every socket is closed and three hours pass,
/// after which no connection may be left. A broken invariant throws <see cref="InvariantViolation"/>;
/// any other exception comes straight from the stack.
/// </summary>
public sealed partial class Harness : IFrameSink
{
    public const int MaxSockets = 16;
    public static readonly TimeSpan Teardown = TimeSpan.FromHours(3);
    private static readonly byte[] Buffer = new byte[1_100_000];

    private readonly FuzzConfig config;
    private readonly NetStack stack;
    private readonly Peer peer = new();
    private readonly TransitionMap? map;
    private readonly List<TcpConnection> sockets = new();
    private readonly Queue<byte[]> outbound = new();
    private readonly List<TcpEvent> events = new();
    private Instant now = Instant.FromMilliseconds(1_000_000);
    private bool peerSilent;

    public Harness(FuzzConfig config, TransitionMap? map = null, Action<string>? log = null)
    {
        this.config = config;
        this.map = map;
        Log = log;
        stack = new NetStack(new StackOptions
        {
            HardwareAddress = FrameBuilder.StackMac,
            Address = new Ipv4Cidr(FrameBuilder.StackIp, 24),
            Mtu = config.MtuBytes,
            Secret = [1, 2, 3],
            Tcp = new TcpOptions
            {
                SendBufferSize = config.SendBufferBytes,
                ReceiveBufferSize = config.ReceiveBufferBytes,
                WindowScaling = config.WindowScaling,
                Timestamps = config.Timestamps,
                SelectiveAcknowledgments = config.Sack,
                CongestionControl = config.NewReno ? "newreno" : "cubic",
                NoDelay = config.NoDelay,
            },
        }, this);
    }

    public NetStack Stack => stack;
    public Action<string>? Log { get; }

    /// <summary>Decodes and runs a whole input.</summary>
    public static void RunInput(ReadOnlySpan<byte> input, TransitionMap? map = null, Action<string>? log = null)
    {
        var (config, actions) = ActionCodec.Read(input);
        var harness = new Harness(config, map, log);
        foreach (var a in actions) harness.Step(a.Action);
        harness.CloseEverythingAndWait();
    }

    public void Transmit(ReadOnlySpan<byte> frame) => outbound.Enqueue(frame.ToArray());

    /// <summary>One action, then Poll(now), the peer's answers and the invariants.</summary>
    public void Step(FuzzAction action)
    {
        Log?.Invoke($"{now} {action}");
        switch (action)
        {
            case SegmentAction s: Deliver(peer.Build(s)); break;
            case PeerAction p: if (peer.Move(p) is { } frame) Deliver(frame); break;
            case TimeAction t: AdvanceTo(Target(t)); break;
            case CallAction c: Call(c); break;
            case RawAction r: Deliver(Raw(r)); break;
            case FlipAction f: if (peer.LastFrame is { } last) Deliver(Flip(last, f)); break;
        }
        Settle();
    }

    private Instant Target(TimeAction t) => t.Kind switch
    {
        TimeStepKind.Milliseconds => now + TimeSpan.FromMilliseconds(t.Amount % 1000 + 1),
        TimeStepKind.Seconds => now + TimeSpan.FromSeconds(t.Amount % 600 + 1),
        TimeStepKind.NextDeadline => stack.NextDeadline == Instant.MaxValue ? now : (stack.NextDeadline > now ? stack.NextDeadline : now),
        _ => now + TimeSpan.FromHours(t.Amount % 5 + 1),
    };

    /// <summary>Polls at <see cref="now"/>, lets the peer answer (if on autopilot), and checks the invariants.</summary>
    private void Settle()
    {
        PollAt(now);
        if (config.PeerAutopilot && !peerSilent)
        {
            foreach (var frame in peer.Autopilot().ToList()) Deliver(frame);
            PollAt(now);
        }
        Check();
    }

    private void Check()
    {
        if (stack.Tcp.CheckInvariants(now) is { } broken) throw new InvariantViolation(broken);
    }

    /// <summary>Moves the clock to <paramref name="target"/>, stopping at every deadline on the way.</summary>
    private void AdvanceTo(Instant target)
    {
        for (int steps = 0; stack.NextDeadline <= target; steps++)
        {
            if (steps > 1_000_000) throw new InvariantViolation($"a million timer deadlines before {target}: time does not advance");
            var at = stack.NextDeadline;
            if (at > now) now = at;
            Settle();
        }
        if (target > now) now = target;
    }

    /// <summary>Poll, noting which timers fired on which state for the transition map.</summary>
    private void PollAt(Instant at)
    {
        if (map is null || stack.NextDeadline > at) { stack.Poll(at); Drain(); return; }
        var before = stack.Tcp.Connections.Select(c => (Connection: c, c.State, c.Info.TotalRetransmits)).ToList();
        var records = stack.Tcp.TimeWaits.All.ToList();
        var halfOpen = stack.Tcp.HalfOpenRecords.Where(r => r.Deadline <= at).ToList();
        stack.Poll(at);
        foreach (var r in records)
            if (stack.Tcp.TimeWaits.Lookup(r.Local, r.RemoteEndpoint) != r) map.Record(TcpState.TimeWait, TcpEvent.TimerTimeWait);
        foreach (var r in halfOpen) // its timer fired: a SYN,ACK sent again, or the end of the attempt
            map.Record(TcpState.SynReceived, stack.Tcp.HalfOpenLookup(r.Local, r.Remote) is null && !stack.Tcp.Connections.Any(c => c.Local == r.Local && c.Remote == r.Remote)
                ? TcpEvent.TimerOther : TcpEvent.TimerRetransmission);
        foreach (var (c, state, retransmissions) in before)
        {
            if (c.State == TcpState.Closed)
            {
                if (state == TcpState.TimeWait) map.Record(state, TcpEvent.TimerTimeWait);
                else if (state == TcpState.FinWait2) map.Record(state, TcpEvent.TimerFinWait2);
                else if (c.PendingError == Errno.ETIMEDOUT) map.Record(state, TcpEvent.TimerUserTimeout);
                else map.Record(state, TcpEvent.TimerOther);
            }
            else if (c.Info.TotalRetransmits > retransmissions) map.Record(state, TcpEvent.TimerRetransmission);
        }
        Drain();
    }

    /// <summary>Hands every frame the stack sent to the peer, and delivers the peer's immediate answers (ARP).</summary>
    private void Drain()
    {
        while (outbound.TryDequeue(out var frame))
        {
            if (frame.Length > EthernetFrame.HeaderLength + config.MtuBytes && frame.Length > EthernetFrame.MinimumLength)
                throw new InvariantViolation($"the stack sent a {frame.Length}-byte frame over an MTU of {config.MtuBytes}");
            var reply = peer.Observe(frame, out var problem);
            if (problem is not null) throw new InvariantViolation(problem);
            if (reply is not null) Deliver(reply);
        }
    }

    private void Deliver(byte[] frame)
    {
        if (map is not null) Classify(frame);
        stack.Receive(frame, now);
        Drain();
    }

    private void Classify(byte[] frame)
    {
        if (!EthernetFrame.TryRead(frame, out var eth, out _) || eth.EtherType != EtherType.Ipv4) return;
        if (!Ipv4Packet.TryRead(eth.Payload, out var ip, out _) || ip.Protocol != IpProtocol.Tcp || ip.Destination != FrameBuilder.StackIp) return;
        if (ip.HeaderLength != Ipv4Packet.MinimumHeaderLength || ip.IsFragment) return;
        if (!TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out _)) return;
        var local = new Endpoint(ip.Destination, seg.DestinationPort);
        var remote = new Endpoint(ip.Source, seg.SourcePort);
        var c = stack.Tcp.Table.Lookup(local, remote);
        // The connection this segment reaches: a record's when the pair's connection left the stack for one.
        Tcb? tcb = c is { Remote: not null } ? Tcb.Of(c)
            : stack.Tcp.HalfOpenLookup(local, remote) is { } halfOpen ? Tcb.Of(halfOpen)
            : stack.Tcp.TimeWaits.Lookup(local, remote) is { } timeWait ? Tcb.Of(timeWait)
            : c is null ? null : Tcb.Of(c);
        events.Clear();
        SegmentClassifier.Classify(tcb, seg.Flags, seg.Sequence, seg.Acknowledgment, seg.Payload.Length, events);
        foreach (var e in events) map!.Record(tcb?.State ?? TcpState.Closed, e);
    }

    /// <summary>Closes every socket the harness holds, then lets three hours pass with a silent peer: nothing may stay.</summary>
    public void CloseEverythingAndWait()
    {
        foreach (var s in sockets) Close(s);
        sockets.Clear();
        Settle();
        peerSilent = true;
        AdvanceTo(now + Teardown);
        Settle();
        if (stack.Tcp.Connections.Count > 0 || stack.Tcp.HalfOpenRecords.Count > 0)
            throw new InvariantViolation($"{Teardown.TotalHours} hours after every socket closed, still live: {string.Join("; ", stack.Tcp.Connections.Take(3).Concat<object>(stack.Tcp.HalfOpenRecords.Take(3)))}");
    }

    private byte[] Raw(RawAction r)
    {
        if (r.Layer == 1) return peer.RawSegment(r.Bytes);
        var frame = new byte[EthernetFrame.HeaderLength + r.Bytes.Length];
        r.Bytes.CopyTo(frame, EthernetFrame.HeaderLength);
        if (r.Layer == 2)
        {
            // An IPv4 packet of raw bytes: the header's checksum fixed so that more of it gets in.
            new EthernetRepr(FrameBuilder.StackMac, FrameBuilder.PeerMac, EtherType.Ipv4).Write(frame);
            FrameBuilder.FixIpChecksum(frame);
            return frame;
        }
        // A whole frame: the bytes from the Ethernet header on (the destination is kept ours so it gets past Ethernet).
        r.Bytes.AsSpan(0, Math.Min(r.Bytes.Length, EthernetFrame.HeaderLength - 6)).CopyTo(frame.AsSpan(6));
        FrameBuilder.StackMac.Write(frame);
        return frame;
    }

    private static byte[] Flip(byte[] last, FlipAction f)
    {
        var frame = (byte[])last.Clone();
        int bit = f.Bit % (frame.Length * 8);
        frame[bit / 8] ^= (byte)(1 << (bit % 8));
        if (f.FixChecksum) { FrameBuilder.FixIpChecksum(frame); FrameBuilder.FixTcpChecksum(frame); }
        return frame;
    }
}
