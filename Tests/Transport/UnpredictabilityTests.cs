using System.Numerics;
using UserStack.Tcp;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Transport;

/// <summary>
/// RFC 6056 (ephemeral ports, algorithm 3) and RFC 6528 (ISNs) checked statistically, with fixed
/// seeds: what an off-path attacker sees must look uniform and carry nothing over from one 4-tuple
/// to the next. Each check is also run on a deliberately broken generator, which it must reject,
/// so the thresholds are shown to bite.
/// </summary>
public class UnpredictabilityTests
{
    private const int Buckets = 16;
    // Chi-square with 15 degrees of freedom: p = 0.001 is at 37.7; 60 leaves a wide margin for a fair generator.
    private const double ChiSquareLimit = 60;
    private static readonly Ipv4Address Local = Ipv4Address.Parse("10.0.0.2");

    private static double ChiSquare(IEnumerable<int> buckets)
    {
        var counts = new int[Buckets];
        int n = 0;
        foreach (var b in buckets) { counts[b]++; n++; }
        double expected = n / (double)Buckets;
        return counts.Sum(c => (c - expected) * (c - expected) / expected);
    }

    private static Endpoint RandomRemote(Random random) =>
        new(new Ipv4Address((uint)random.Next(0x0B000000, 0x7EFFFFFF)), (ushort)random.Next(1, 65536));

    /// <summary>One port per connect to a different destination, as a client opening connections to many servers.</summary>
    private static List<int> Ports(Func<Endpoint, ushort> allocate, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (int)allocate(RandomRemote(random))).ToList();
    }

    private static ushort Algorithm3(EphemeralPortAllocator allocator, Endpoint remote) =>
        allocator.TryAllocate(Local, remote, _ => true, out var port) ? port : throw new InvalidOperationException("range exhausted");

    /// <summary>Uniform over the range, and successive ports do not follow from each other.</summary>
    private static (double ChiSquare, double DistinctSteps) PortStatistics(List<int> ports, int first, int count) =>
        (ChiSquare(ports.Select(p => (p - first) * Buckets / count)),
         ports.Zip(ports.Skip(1), (a, b) => (b - a + count) % count).Distinct().Count() / (double)(ports.Count - 1));

    [Test]
    public void RFC6056_algorithm_3_ports_to_different_destinations_are_uniform_and_unrelated()
    {
        var allocator = new EphemeralPortAllocator(49152, 65535, [4, 2, 7, 1]);
        var (chi, distinct) = PortStatistics(Ports(r => Algorithm3(allocator, r), 16_000, seed: 11), 49152, allocator.Count);
        TestContext.Out.WriteLine($"chi-square {chi:0.0} over {Buckets} buckets; {distinct:P1} distinct steps");
        Assert.That(chi, Is.LessThan(ChiSquareLimit));
        Assert.That(distinct, Is.GreaterThan(0.5), "a step from one port to the next must not repeat");
    }

    [Test]
    public void The_port_check_rejects_a_sequential_allocator()
    {
        int next = 0;
        var (chi, distinct) = PortStatistics(Ports(_ => (ushort)(49152 + next++ % 16384), 16_000, seed: 11), 49152, 16384);
        TestContext.Out.WriteLine($"sequential: chi-square {chi:0.0}; {distinct:P1} distinct steps");
        Assert.That(chi >= ChiSquareLimit || distinct <= 0.5, Is.True, "the statistics must tell a counter from algorithm 3");
        Assert.That(distinct, Is.LessThanOrEqualTo(0.5));
    }

    [Test]
    public void The_port_check_rejects_a_fixed_per_destination_offset_without_the_counter_mixing()
    {
        // Algorithm 1-like but with a weak hash: the offset is the destination port.
        var (chi, _) = PortStatistics(Ports(r => (ushort)(49152 + r.Port % 1024), 16_000, seed: 11), 49152, 16384);
        Assert.That(chi, Is.GreaterThanOrEqualTo(ChiSquareLimit));
    }

    /// <summary>ISNs of 4-tuples one port apart at the same instant: uniform top bits and about half the bits changed.</summary>
    private static (double ChiSquare, double MeanBitsChanged) IsnStatistics(Func<Endpoint, Endpoint, uint> isn, int count, int seed)
    {
        var random = new Random(seed);
        var tops = new List<int>();
        double changed = 0;
        for (int i = 0; i < count; i++)
        {
            var local = new Endpoint(Local, (ushort)random.Next(1024, 65535));
            var remote = RandomRemote(random);
            uint a = isn(local, remote), b = isn(local with { Port = (ushort)(local.Port + 1) }, remote);
            tops.Add((int)(a >> 28));
            changed += BitOperations.PopCount(a ^ b);
        }
        return (ChiSquare(tops), changed / count);
    }

    [Rfc(9293, "MUST-9")]
    [Test]
    public void RFC6528_isns_of_different_four_tuples_are_uniform_and_unrelated()
    {
        var isns = new InitialSequenceNumbers([9, 8, 7]);
        var now = Instant.FromMilliseconds(123_456);
        var (chi, bits) = IsnStatistics((l, r) => isns.For(l, r, now).Iss.Value, 16_000, seed: 3);
        TestContext.Out.WriteLine($"chi-square {chi:0.0}; {bits:0.00} of 32 bits change with one port");
        Assert.That(chi, Is.LessThan(ChiSquareLimit));
        Assert.That(bits, Is.InRange(15.0, 17.0), "a neighbouring 4-tuple's ISN says nothing about this one");
    }

    [Test]
    public void The_isn_check_rejects_a_clock_plus_port_generator()
    {
        var (chi, bits) = IsnStatistics((l, r) => unchecked(123_456u * 250 + l.Port + r.Port), 16_000, seed: 3);
        TestContext.Out.WriteLine($"clock + ports: chi-square {chi:0.0}; {bits:0.00} bits");
        Assert.That(chi, Is.GreaterThanOrEqualTo(ChiSquareLimit));
        Assert.That(bits, Is.Not.InRange(15.0, 17.0));
    }

    [Rfc(9293, "MUST-8")]
    [Test]
    public void RFC6528_the_same_four_tuple_moves_forward_with_the_4_microsecond_clock()
    {
        var isns = new InitialSequenceNumbers([9, 8, 7]);
        var local = new Endpoint(Local, 40000);
        var remote = new Endpoint(Ipv4Address.Parse("10.0.0.1"), 80);
        var random = new Random(5);
        var at = Instant.FromMilliseconds(1000);
        var previous = isns.For(local, remote, at).Iss;
        for (int i = 0; i < 1000; i++)
        {
            int step = random.Next(4, 4_000_000); // up to 4 s, far below the 4.77 h wrap of a 4 µs clock
            at = new Instant(at.Microseconds + step);
            var next = isns.For(local, remote, at).Iss;
            Assert.That(next - previous, Is.EqualTo(step / 4).Within(1), "the ISN of one 4-tuple advances as M, the clock");
            previous = next;
        }
    }
}
