using System.Security.Cryptography;
using UserStack.Drivers.Virtual;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// The lossy-wire suite: two stacks move 10 MB each way at once over a wire that drops,
/// duplicates, reorders, corrupts and delays, seeded; both directions must match by SHA-256.
/// Each seed also picks the TCP options (window scale, timestamps, SACK on or off, NewReno or
/// CUBIC), the same on both sides or, every third seed, different (so negotiation falls back).
/// </summary>
[Category("LossyWire")]
public class LossyWireTests
{
    private const int Size = 10 * 1024 * 1024;

    public static IEnumerable<int> Seeds() => Enumerable.Range(1, int.TryParse(Environment.GetEnvironmentVariable("LOSSY_SEEDS"), out var n) ? n : 200);

    [TestCaseSource(nameof(Seeds))]
    public void Ten_megabytes_each_way_arrive_intact(int seed)
    {
        var random = new Random(seed);
        var faults = new WireFaults
        {
            Drop = 0.01 + random.NextDouble() * 0.04,
            Duplicate = random.NextDouble() * 0.03,
            Reorder = random.NextDouble() * 0.05,
            Corrupt = random.NextDouble() * 0.02,
            Delay = TimeSpan.FromMilliseconds(1 + random.Next(10)),
            Jitter = TimeSpan.FromMilliseconds(random.Next(3)),
        };
        var (optionsA, optionsB) = OptionsFor(seed);
        var pair = new WiredPair(seed, WireFaults.None, optionsA, optionsB);
        var (wire, a, b) = (pair.Wire, pair.A, pair.B);
        var trace = new RecentEvents();
        a.Trace = trace.For("A");
        b.Trace = trace.For("B");

        var (client, server) = pair.Connect(9000);
        Assert.That(server, Is.Not.Null, "handshake on the clean wire");
        wire.Faults = faults; // ARP has no checksum (Ethernet's FCS covers it on real wires): faults start after resolution

        var dataA = new byte[Size];
        var dataB = new byte[Size];
        random.NextBytes(dataA);
        random.NextBytes(dataB);
        var one = new Pump(client, dataA);
        var two = new Pump(server!, dataB);
        string? broken = null;
        bool done = wire.RunUntil(() =>
        {
            one.Step(wire.Now);
            two.Step(wire.Now);
            broken ??= a.Tcp.CheckInvariants(wire.Now) ?? b.Tcp.CheckInvariants(wire.Now);
            return (one.Done && two.Done) || broken is not null;
        }, TimeSpan.FromHours(2));
        Assert.That(broken, Is.Null, $"{trace}\nseed {seed}: an invariant broke");
        Assert.That(done, Is.True, $"{trace}\nseed {seed} ({faults}; A {Describe(optionsA)}, B {Describe(optionsB)}) stalled: A sent {one.Sent} got {one.Received.Length}, B sent {two.Sent} got {two.Received.Length}; {client} / {server}; wire {wire.Statistics}");
        Assert.That(SHA256.HashData(two.Received.ToArray()), Is.EqualTo(SHA256.HashData(dataA)), "A to B");
        Assert.That(SHA256.HashData(one.Received.ToArray()), Is.EqualTo(SHA256.HashData(dataB)), "B to A");
    }

    /// <summary>The option matrix: bits of the seed choose each option; every third seed B differs in one.</summary>
    internal static (TcpOptions A, TcpOptions B) OptionsFor(int seed)
    {
        static TcpOptions From(int bits) => new()
        {
            WindowScaling = (bits & 1) == 0,
            Timestamps = (bits & 2) == 0,
            SelectiveAcknowledgments = (bits & 4) == 0,
            CongestionControl = (bits & 8) == 0 ? "cubic" : "newreno",
        };
        int bits = seed % 16;
        return (From(bits), From(seed % 3 == 0 ? bits ^ (1 << (seed / 16 % 3)) : bits));
    }

    internal static string Describe(TcpOptions o) =>
        $"ws={(o.WindowScaling ? "on" : "off")} ts={(o.Timestamps ? "on" : "off")} sack={(o.SelectiveAcknowledgments ? "on" : "off")} {o.CongestionControl}";

    /// <summary>The last state changes of both stacks, for the message of a failed seed.</summary>
    private sealed class RecentEvents
    {
        private readonly Queue<string> last = new();
        public Diagnostics.ITraceSink For(string name) => new Sink(this, name);
        private void Add(string line) { last.Enqueue(line); if (last.Count > 40) last.Dequeue(); }
        public override string ToString() => string.Join("\n", last);
        private sealed class Sink(RecentEvents owner, string name) : Diagnostics.ITraceSink
        {
            public void Write(Diagnostics.TraceEvent e)
            {
                if (e is Diagnostics.TcpStateChanged or Diagnostics.TcpCongestionChanged or Diagnostics.Dropped) owner.Add($"{name} {e}");
            }
        }
    }

    /// <summary>One side's application: writes its data, closes its sending side, reads to the peer's FIN.</summary>
    private sealed class Pump(TcpConnection c, byte[] data)
    {
        private readonly byte[] buffer = new byte[65536];
        private bool shut;
        public int Sent { get; private set; }
        public MemoryStream Received { get; } = new();
        public bool Done => shut && c.FinReceived && c.Available == 0;

        public void Step(Instant now)
        {
            if (Sent < data.Length) Sent += c.Send(data.AsSpan(Sent), now, out _);
            if (Sent == data.Length && !shut) { c.ShutdownWrite(now); shut = true; }
            int n;
            while ((n = c.Receive(buffer, false, now, out _)) > 0) Received.Write(buffer, 0, n);
        }
    }
}
