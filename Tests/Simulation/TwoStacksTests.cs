using UserStack.Diagnostics;
using UserStack.Drivers.Virtual;
using UserStack.Ip;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tests.Simulation;

/// <summary>Two stacks on a <see cref="VirtualWire"/>: ARP and echo between them, with and without faults.</summary>
public class TwoStacksTests
{
    private static readonly Ipv4Address AddressA = WiredPair.AddressA;
    private static readonly Ipv4Address AddressB = WiredPair.AddressB;

    /// <summary>Stands in for a raw socket on stack A: keeps every echo reply's sequence and data.</summary>
    private sealed class EchoRecorder : IIpProtocolHandler
    {
        public List<(ushort Sequence, byte[] Data, Instant At)> Replies { get; } = new();
        public void Receive(in Ipv4Packet packet, Instant now)
        {
            if (IcmpPacket.TryRead(packet.Payload, out var icmp, out _) && icmp.Type == IcmpType.EchoReply)
                Replies.Add((icmp.SequenceNumber, icmp.Payload.ToArray(), now));
        }
    }

    private sealed class Pair
    {
        public required VirtualWire Wire { get; init; }
        public required NetStack A { get; init; }
        public required NetStack B { get; init; }
        public required EchoRecorder Recorder { get; init; }

        public void Ping(ushort sequence, ReadOnlySpan<byte> data)
        {
            var buffer = A.Ipv4.PayloadBuffer;
            data.CopyTo(buffer[IcmpPacket.HeaderLength..]);
            IcmpRepr.Echo(IcmpType.EchoRequest, 77, sequence, data.Length).Write(buffer);
            A.Ipv4.Send(AddressA, AddressB, IpProtocol.Icmp, IcmpPacket.HeaderLength + data.Length, Wire.Now);
        }
    }

    private static Pair Build(int seed, WireFaults faults)
    {
        var pair = new WiredPair(seed, faults);
        var (wire, a, b) = (pair.Wire, pair.A, pair.B);
        var recorder = new EchoRecorder();
        a.Ipv4.Register(IpProtocol.Icmp, recorder);
        a.Start(wire.Now);
        b.Start(wire.Now);
        return new Pair { Wire = wire, A = a, B = b, Recorder = recorder };
    }

    private static byte[] Data(int sequence) => Enumerable.Range(0, 64 + sequence % 900).Select(i => (byte)(i ^ sequence)).ToArray();

    [Test]
    public void On_a_clean_wire_every_ping_is_answered_after_one_arp_exchange()
    {
        var p = Build(1, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        for (ushort i = 0; i < 100; i++)
        {
            p.Ping(i, Data(i));
            p.Wire.RunFor(TimeSpan.FromMilliseconds(10));
        }
        Assert.That(p.Recorder.Replies.Select(r => (int)r.Sequence), Is.EqualTo(Enumerable.Range(0, 100)));
        Assert.That(p.Recorder.Replies.All(r => r.Data.SequenceEqual(Data(r.Sequence))), Is.True);
        Assert.That(p.A.Counters[Counter.ArpRequestsSent], Is.EqualTo(1));
        Assert.That(p.B.Counters[Counter.ArpRequestsSent], Is.Zero, "B learned A from A's request");
        Assert.That(p.A.Counters.TotalDrops, Is.Zero);
        Assert.That(p.B.Counters.TotalDrops, Is.EqualTo(p.B.Counters[DropReason.ArpNotForUs]), "B only passes over A's announcement");
    }

    [Test]
    public void The_round_trip_takes_twice_the_wire_delay_once_resolved()
    {
        var p = Build(2, new WireFaults { Delay = TimeSpan.FromMilliseconds(3) });
        p.Ping(0, [1]);
        Assert.That(p.Wire.RunUntil(() => p.Recorder.Replies.Count == 1, TimeSpan.FromSeconds(1)), Is.True);
        var sent = p.Wire.Now;
        p.Ping(1, [2]);
        Assert.That(p.Wire.RunUntil(() => p.Recorder.Replies.Count == 2, TimeSpan.FromSeconds(1)), Is.True);
        Assert.That(p.Wire.Now - sent, Is.EqualTo(TimeSpan.FromMilliseconds(6)));
    }

    [Test]
    public void The_same_seed_replays_the_same_run()
    {
        var faults = new WireFaults { Drop = 0.2, Duplicate = 0.2, Reorder = 0.3, Corrupt = 0.2, Delay = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(2) };
        string Run(int seed)
        {
            var p = Build(seed, faults);
            for (ushort i = 0; i < 200; i++) { p.Ping(i, Data(i)); p.Wire.RunFor(TimeSpan.FromMilliseconds(20)); }
            return $"{p.Wire.Statistics} | {string.Join(",", p.Recorder.Replies.Select(r => r.Sequence))} | {p.A.Counters} | {p.B.Counters}";
        }
        Assert.That(Run(42), Is.EqualTo(Run(42)));
        Assert.That(Run(42), Is.Not.EqualTo(Run(43)));
    }

    [Test]
    public void Over_many_seeds_a_faulty_wire_never_delivers_a_corrupted_echo_and_never_throws(
        [Range(1, 60)] int seed)
    {
        var faults = new WireFaults { Drop = 0.1, Duplicate = 0.1, Reorder = 0.2, Corrupt = 0.15, Delay = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(3) };
        // ARP carries no checksum (Ethernet's FCS protects it on a real wire), so resolve on a
        // clean wire first; then every corruption has to be caught by IPv4 and ICMP checksums.
        var p = Build(seed, WireFaults.None);
        p.Ping(0, Data(0));
        p.Wire.RunFor(TimeSpan.FromMilliseconds(50));
        p.Recorder.Replies.Clear();
        p.Wire.Faults = faults;
        const int pings = 150;
        for (ushort i = 0; i < pings; i++)
        {
            p.Ping(i, Data(i));
            p.Wire.RunFor(TimeSpan.FromMilliseconds(25));
        }
        p.Wire.RunFor(TimeSpan.FromSeconds(5));

        Assert.That(p.Recorder.Replies.All(r => r.Data.SequenceEqual(Data(r.Sequence))), Is.True, "checksums catch every corruption");
        Assert.That(p.Recorder.Replies.Select(r => r.Sequence).Distinct().Count(), Is.GreaterThan(pings * 2 / 5), $"most pings get through ({p.Wire.Statistics})\nA:\n{p.A.Counters}\nB:\n{p.B.Counters}\n{string.Join(",", p.A.Arp.Entries)}");
        Assert.That(p.Wire.Statistics.Corrupted, Is.GreaterThan(0));
        var caught = p.A.Counters.TotalDrops + p.B.Counters.TotalDrops;
        Assert.That(caught, Is.GreaterThan(0), "corrupted frames show up as counted drops");
    }

    [Test]
    public void A_silent_peer_makes_resolution_fail_in_bounded_time()
    {
        var p = Build(3, new WireFaults { Drop = 1.0 });
        p.Ping(0, [1]);
        p.Wire.RunFor(TimeSpan.FromSeconds(10));
        Assert.That(p.A.Counters[Counter.ArpRequestsSent], Is.EqualTo(p.A.Options.Arp.MaxRequests));
        Assert.That(p.A.Counters[DropReason.ArpResolutionFailed], Is.EqualTo(1));
        Assert.That(p.A.NextDeadline, Is.EqualTo(Instant.MaxValue), "nothing left to do: the clock can rest");
    }
}
