using UserStack.Drivers;
using UserStack.Link;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.PacketdrillAdapter;

/// <summary>
/// One packetdrill run: a UserStack host on a virtual clock, the socket table, and the device
/// that sits where packetdrill's tun device would. packetdrill speaks IP packets; the stack
/// speaks Ethernet, so frames are wrapped and unwrapped here, and the gateway's ARP is answered here.
/// </summary>
internal sealed class AdapterSession : IDisposable
{
    /// <summary>gettimeofday() reports virtual time on this base (2020-09-13T12:26:40Z), so times look like wall-clock times.</summary>
    private const long EpochBaseMicroseconds = 1_600_000_000L * 1_000_000;
    private static readonly MacAddress LocalMac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:00:02");

    private readonly VirtualClock clock = new(Instant.FromMilliseconds(1000));
    private readonly PacketdrillDevice device;
    private int callsInProgress;
    private readonly Dictionary<int, int> callers = new(); // thread id -> calls it is in

    public AdapterSession(AdapterOptions options)
    {
        Options = options;
        device = new PacketdrillDevice(this);
        var stack = new StackOptions
        {
            HardwareAddress = LocalMac,
            Address = new Ipv4Cidr(options.LocalIp, options.PrefixLength),
            Gateway = options.GatewayIp,
            Mtu = options.Mtu,
            Secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(16),
            InitialIdentification = (ushort)Random.Shared.Next(65536),
            // The gateway never moves: one resolution lasts the whole run (requests are answered anyway).
            Arp = new ArpOptions { EntryLifetime = TimeSpan.FromDays(1) },
        };
        stack.Validate();
        Host = new StackHost(stack, device, clock: clock);
        Sockets = new BsdSockets(Host);
        Host.Start();
        // The gateway introduces itself (an ARP request for our address carries its MAC), so no
        // ARP stands between the script's first packet and TCP.
        Host.Inject(Arp(ArpOperation.Request, GatewayMac, options.GatewayIp, MacAddress.Zero, options.LocalIp, MacAddress.Broadcast));
        device.DiscardQueued();
    }

    public AdapterOptions Options { get; }
    public StackHost Host { get; }
    public BsdSockets Sockets { get; }
    public Descriptors Descriptors { get; } = new();

    public long NowMicroseconds => EpochBaseMicroseconds + Host.Now.Microseconds;

    public long ToWallMicroseconds(Instant t) => EpochBaseMicroseconds + t.Microseconds;

    /// <summary>Brackets a socket call, so that netdev_receive knows when a call is still running (not yet blocked).</summary>
    public void EnterCall()
    {
        Interlocked.Increment(ref callsInProgress);
        lock (callers) callers[Environment.CurrentManagedThreadId] = callers.GetValueOrDefault(Environment.CurrentManagedThreadId) + 1;
    }

    public void LeaveCall()
    {
        lock (callers)
        {
            int id = Environment.CurrentManagedThreadId;
            if (--callers[id] == 0) callers.Remove(id);
        }
        Interlocked.Decrement(ref callsInProgress);
        AnswerArp();
        device.Notify();
    }

    /// <summary>Calls that are running and not waiting inside the host: their output may still come.</summary>
    private bool CallsRunning => Volatile.Read(ref callsInProgress) > Host.BlockedCalls;

    /// <summary>usleep(): time passes, timers fire at their instants.</summary>
    public void Sleep(long microseconds)
    {
        AnswerArp();
        Host.AdvanceTo(Host.Now + TimeSpan.FromMicroseconds(Math.Max(0, microseconds)));
        SettleBlockedCalls();
        AnswerArp();
    }

    /// <summary>
    /// After time moved: lets every call blocked on packetdrill's syscall thread look at the new
    /// time (a poll or a receive whose timeout has passed returns) before packetdrill goes on to
    /// its next event, which could otherwise be seen first. Bounded in real time.
    /// </summary>
    private void SettleBlockedCalls()
    {
        var giveUp = Environment.TickCount64 + 1000;
        while (Environment.TickCount64 < giveUp)
        {
            int[] threads;
            lock (callers) threads = [.. callers.Keys];
            if (threads.Length == 0) return;
            bool settled;
            lock (Host.Gate) settled = threads.All(Host.IsSettledWaiter);
            if (settled) return;
            Thread.Sleep(1);
        }
    }

    /// <summary>
    /// gettimeofday(): virtual time, one microsecond later on every call. packetdrill waits for an
    /// event by spinning on the clock for its last few microseconds (and for the first event
    /// entirely), so a clock that never moved while watched would hang it.
    /// </summary>
    public long TimeOfDay()
    {
        Host.AdvanceTo(Host.Now + TimeSpan.FromMicroseconds(1));
        return NowMicroseconds;
    }

    /// <summary>netdev_send(): one IPv4 packet from packetdrill, as the gateway would forward it.</summary>
    public Transport.Errno Inject(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 20) return Transport.Errno.EINVAL;
        if (packet[0] >> 4 != 4) return Transport.Errno.EAFNOSUPPORT; // IPv6 is not spoken by UserStack
        var frame = new byte[EthernetFrame.HeaderLength + packet.Length];
        new EthernetRepr(LocalMac, GatewayMac, EtherType.Ipv4).Write(frame);
        packet.CopyTo(frame.AsSpan(EthernetFrame.HeaderLength));
        if (Options.Verbose) Console.Error.WriteLine($"ustack-adapter: in  {packet.Length} bytes at {Host.Now.Microseconds} us");
        Host.Inject(frame);
        AnswerArp();
        return Transport.Errno.Ok;
    }

    /// <summary>
    /// netdev_receive(): the next IP packet the stack sent. When none is queued, waits for socket
    /// calls still running on packetdrill's syscall thread, then moves virtual time to the next
    /// timer (a retransmission, a delayed ACK) until one comes. Null when the stack has nothing
    /// left to send: no timer within the horizon.
    /// </summary>
    public (byte[] Packet, Instant At)? NextOutbound()
    {
        var horizon = Host.Now + Options.SniffHorizon;
        var giveUp = Environment.TickCount64 + 10_000; // real time for a running call to block or finish
        bool graced = false;
        while (true)
        {
            AnswerArp();
            if (device.TryDequeue(out var sent)) return sent;
            if (CallsRunning && Environment.TickCount64 < giveUp) { device.WaitForOutput(5); continue; }
            // A blocked call that a packet or a timer just woke still counts as blocked until it has
            // the host's lock again: give it a moment to send before time moves on without it.
            if (Volatile.Read(ref callsInProgress) > 0 && !graced) { graced = true; device.WaitForOutput(2); continue; }
            graced = false;
            Instant next;
            lock (Host.Gate) next = Host.Stack.NextDeadline;
            if (next == Instant.MaxValue || next > horizon)
            {
                Console.Error.WriteLine($"ustack-adapter: no packet to sniff: the stack sent nothing and has no timer within {Options.SniffHorizon.TotalSeconds:0} s (virtual)");
                return null;
            }
            Host.AdvanceTo(next);
        }
    }

    private void AnswerArp()
    {
        while (device.TryTakeArpRequest(out var request))
            Host.Inject(Arp(ArpOperation.Reply, GatewayMac, request.TargetIp, LocalMac, request.SenderIp, LocalMac));
    }

    internal static byte[] Arp(ArpOperation op, MacAddress senderMac, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp, MacAddress destination)
    {
        var frame = new byte[EthernetFrame.MinimumLength];
        new EthernetRepr(destination, senderMac, EtherType.Arp).Write(frame);
        new ArpRepr(op, senderMac, senderIp, targetMac, targetIp).Write(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }

    public void Dispose()
    {
        Descriptors.Abandon();
        Host.Dispose();
    }

    /// <summary>
    /// The device at packetdrill's end: outbound IPv4 packets queue up (with their virtual send
    /// time) until packetdrill sniffs them; ARP requests are answered by the session later, outside
    /// the host's lock (the core must not be re-entered from its own transmit).
    /// </summary>
    private sealed class PacketdrillDevice(AdapterSession session) : IFrameDevice
    {
        private readonly Queue<(byte[] Packet, Instant At)> outbound = new();
        private readonly Queue<(Ipv4Address SenderIp, Ipv4Address TargetIp)> arpRequests = new();
        private readonly object gate = new();

        public string Name => "packetdrill";
        public void Start(FrameHandler handler) { }

        public bool Send(ReadOnlySpan<byte> frame)
        {
            if (!EthernetFrame.TryRead(frame, out var ethernet, out _)) return false;
            lock (gate)
            {
                if (ethernet.EtherType == EtherType.Ipv4 && ethernet.Payload.Length >= 20)
                {
                    // The IP packet without the Ethernet padding a short frame carries.
                    int length = Math.Min(ethernet.Payload.Length, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(ethernet.Payload[2..]));
                    outbound.Enqueue((ethernet.Payload[..length].ToArray(), session.Host.Now));
                    if (session.Options.Verbose) Console.Error.WriteLine($"ustack-adapter: out {length} bytes at {session.Host.Now.Microseconds} us");
                }
                else if (ethernet.EtherType == EtherType.Arp && ArpPacket.TryRead(ethernet.Payload, out var arp, out _)
                         && arp.Operation == ArpOperation.Request && arp.TargetProtocolAddress != session.Options.LocalIp)
                    arpRequests.Enqueue((arp.SenderProtocolAddress, arp.TargetProtocolAddress)); // not our own gratuitous announcement
                Monitor.PulseAll(gate);
            }
            return true;
        }

        public bool TryDequeue(out (byte[] Packet, Instant At) sent)
        {
            lock (gate) return outbound.TryDequeue(out sent);
        }

        public bool TryTakeArpRequest(out (Ipv4Address SenderIp, Ipv4Address TargetIp) request)
        {
            lock (gate) return arpRequests.TryDequeue(out request);
        }

        public void DiscardQueued()
        {
            lock (gate) { outbound.Clear(); arpRequests.Clear(); }
        }

        public void WaitForOutput(int milliseconds)
        {
            lock (gate) if (outbound.Count == 0) Monitor.Wait(gate, milliseconds);
        }

        public void Notify()
        {
            lock (gate) Monitor.PulseAll(gate);
        }

        public void Dispose() { }
    }
}
