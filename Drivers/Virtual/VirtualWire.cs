using UserStack.Time;

namespace UserStack.Drivers.Virtual;

/// <summary>
/// An in-memory Ethernet segment joining nodes (two stacks, or a stack and a scripted peer),
/// driven by a virtual clock that jumps straight to the next frame or timer. Every frame a node
/// sends reaches every other node after the configured delay, unless the seeded faults drop,
/// duplicate, reorder or corrupt it.
/// </summary>
public sealed class VirtualWire
{
    private readonly Random random;
    private readonly List<Port> ports = new();
    private readonly PriorityQueue<InFlight, (long, long)> inFlight = new();
    private long sequence;

    public VirtualWire(int seed, WireFaults? faults = null)
    {
        Seed = seed;
        random = new Random(seed);
        Faults = faults ?? WireFaults.None;
    }

    public int Seed { get; }
    public WireFaults Faults { get; set; }
    public Instant Now { get; private set; }
    public WireStatistics Statistics { get; } = new();
    /// <summary>Sees every frame as it is put on the wire (before faults), e.g. to write a pcap.</summary>
    public Action<ReadOnlySpan<byte>, Instant>? Capture { get; set; }

    /// <summary>
    /// A new port on the wire: give it to the node as its frame sink, then <see cref="Port.Connect"/> the node.
    /// Ports hear each other only within one <paramref name="segment"/> (a link of its own on the same clock: routing tests).
    /// </summary>
    public Port CreatePort(string name, int segment = 0)
    {
        var port = new Port(this, name, segment);
        ports.Add(port);
        return port;
    }

    /// <summary>Runs frames and timers until <paramref name="end"/>; the clock ends there.</summary>
    public void RunUntil(Instant end) => Run(end, () => false);

    public void RunFor(TimeSpan span) => RunUntil(Now + span);

    /// <summary>Runs until <paramref name="done"/> holds or <paramref name="limit"/> passes; true when done.</summary>
    public bool RunUntil(Func<bool> done, TimeSpan limit) => Run(Now + limit, done);

    private bool Run(Instant end, Func<bool> done)
    {
        int idleSteps = 0;
        while (!done())
        {
            var next = NextEvent();
            if (next > end) { Now = end; return false; }
            if (next > Now) { Now = next; idleSteps = 0; }
            else if (++idleSteps > 100_000) throw new InvalidOperationException($"the wire made no progress at {Now}: a node keeps its deadline in the past");

            while (inFlight.TryPeek(out var frame, out var key) && key.Item1 <= Now.Microseconds)
            {
                inFlight.Dequeue();
                Statistics.Delivered++;
                frame.To.Node?.Receive(frame.Bytes, Now);
            }
            foreach (var port in ports)
                if (port.Node is { } node && node.NextDeadline <= Now) node.Poll(Now);
        }
        return true;
    }

    private Instant NextEvent()
    {
        var next = inFlight.TryPeek(out _, out var key) ? new Instant(key.Item1) : Instant.MaxValue;
        foreach (var port in ports)
            if (port.Node is { } node) next = Instant.Min(next, node.NextDeadline);
        return next;
    }

    private void Transmit(Port from, ReadOnlySpan<byte> frame)
    {
        Statistics.Sent++;
        Capture?.Invoke(frame, Now);
        foreach (var to in ports)
        {
            if (to == from || to.Segment != from.Segment) continue;
            if (Chance(Faults.Drop)) { Statistics.Dropped++; continue; }
            Schedule(to, frame);
            if (Chance(Faults.Duplicate)) { Statistics.Duplicated++; Schedule(to, frame); }
        }
    }

    private void Schedule(Port to, ReadOnlySpan<byte> frame)
    {
        var bytes = frame.ToArray();
        if (bytes.Length > 0 && Chance(Faults.Corrupt))
        {
            Statistics.Corrupted++;
            int bit = random.Next(bytes.Length * 8);
            bytes[bit / 8] ^= (byte)(1 << (bit % 8));
        }
        var delay = Faults.Delay + Uniform(Faults.Jitter);
        if (Chance(Faults.Reorder)) { Statistics.Reordered++; delay += Uniform(Faults.ReorderWindow); }
        inFlight.Enqueue(new InFlight(to, bytes), ((Now + delay).Microseconds, sequence++));
    }

    private bool Chance(double p) => p > 0 && random.NextDouble() < p;
    private TimeSpan Uniform(TimeSpan max) => max <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)(random.NextDouble() * max.Ticks));

    private readonly record struct InFlight(Port To, byte[] Bytes);

    /// <summary>One attachment to the wire: the sink its node transmits into.</summary>
    public sealed class Port : IFrameSink
    {
        private readonly VirtualWire wire;
        internal Port(VirtualWire wire, string name, int segment) { this.wire = wire; Name = name; Segment = segment; }
        public string Name { get; }
        /// <summary>The link this port is on; frames reach only ports of the same segment.</summary>
        public int Segment { get; }
        public INetworkNode? Node { get; private set; }
        public void Connect(INetworkNode node) => Node = node;
        public void Transmit(ReadOnlySpan<byte> frame) => wire.Transmit(this, frame);
    }
}

/// <summary>What the wire did, for assertions and summaries.</summary>
public sealed class WireStatistics
{
    public long Sent { get; internal set; }
    public long Delivered { get; internal set; }
    public long Dropped { get; internal set; }
    public long Duplicated { get; internal set; }
    public long Reordered { get; internal set; }
    public long Corrupted { get; internal set; }
    public override string ToString() => $"sent={Sent} delivered={Delivered} dropped={Dropped} duplicated={Duplicated} reordered={Reordered} corrupted={Corrupted}";
}
