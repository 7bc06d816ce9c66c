using UserStack.Ip.Reassembly;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tests.Ip;

/// <summary>The reassembler alone (RFC 791 3.2, RFC 815): orders, overlaps, duplicates, timeouts, caps.</summary>
public class ReassemblerTests
{
    private static readonly Instant T0 = Instant.FromMilliseconds(1000);

    /// <summary>Feeds one fragment frame; returns the drop reason and the finished datagram's bytes, if any.</summary>
    private static (DropReason Why, byte[]? Datagram, int Evicted) Add(Reassembler r, byte[] frame, Instant? now = null)
    {
        Assert.That(Ipv4Packet.TryRead(frame.AsSpan(EthernetFrame.HeaderLength), out var ip, out var bad), Is.True, bad.ToString());
        var why = r.Add(ip, now ?? T0, out var complete, out int evicted);
        if (complete is null) return (why, null, evicted);
        var bytes = complete.Datagram.ToArray();
        r.Release(complete);
        return (why, bytes, evicted);
    }

    private static void AssertIsWhole(byte[] datagram, byte[] payload, ushort id = 7)
    {
        Assert.That(Ipv4Packet.TryRead(datagram, out var ip, out var why), Is.True, why.ToString());
        Assert.That(ip.IsFragment, Is.False, "MF and offset cleared");
        Assert.That(ip.Identification, Is.EqualTo(id));
        Assert.That(ip.Source, Is.EqualTo(Frames.PeerIp));
        Assert.That(ip.Payload.ToArray(), Is.EqualTo(payload));
    }

    /// <summary>RFC 815: every order of arrival gives the same datagram, completed by whichever fragment fills the last hole.</summary>
    [TestCase("in order")]
    [TestCase("reverse")]
    [TestCase("last first")]
    public void Fragments_in_order_reverse_or_last_first_reassemble(string order)
    {
        var payload = Frames.Pattern(4003, seed: 5);
        var fragments = FragmentFrames.Split(IpProtocol.Udp, payload, 512);
        if (order == "reverse") fragments.Reverse();
        if (order == "last first") { fragments.Insert(0, fragments[^1]); fragments.RemoveAt(fragments.Count - 1); }
        Feed(fragments, payload);
    }

    [Test]
    public void Fragments_in_any_permutation_and_of_uneven_sizes_reassemble([Range(1, 40)] int seed)
    {
        var random = new Random(seed);
        var payload = Frames.Pattern(random.Next(9, 65_000), seed);
        var fragments = new List<byte[]>();
        for (int first = 0; first < payload.Length;)
        {
            int end = Math.Min(payload.Length, first + 8 * random.Next(1, 200));
            fragments.Add(FragmentFrames.Fragment(IpProtocol.Udp, payload, first, end, end < payload.Length));
            first = end;
        }
        Feed(fragments.OrderBy(_ => random.Next()).ToList(), payload);
    }

    private static void Feed(List<byte[]> fragments, byte[] payload)
    {
        var r = new Reassembler(new ReassemblyOptions());
        for (int i = 0; i < fragments.Count; i++)
        {
            var (why, datagram, _) = Add(r, fragments[i]);
            Assert.That(why, Is.EqualTo(DropReason.None));
            if (i < fragments.Count - 1) { Assert.That(datagram, Is.Null, $"complete after {i + 1} of {fragments.Count}"); continue; }
            Assert.That(datagram, Is.Not.Null, "the last hole filled completes the datagram");
            AssertIsWhole(datagram!, payload);
        }
        Assert.That(r.Count, Is.Zero);
        Assert.That(r.Memory, Is.Zero, "every byte charged is given back");
    }

    [Test]
    public void Fragments_of_different_identifications_sources_or_protocols_are_kept_apart()
    {
        var r = new Reassembler(new ReassemblyOptions());
        var payload = Frames.Pattern(100);
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 0, 48, true, id: 1));
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 48, 100, false, id: 2));
        Add(r, FragmentFrames.Fragment(IpProtocol.Icmp, payload, 48, 100, false, id: 1));
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 48, 100, false, id: 1, source: Ipv4Address.Parse("10.0.0.9")));
        Assert.That(r.Count, Is.EqualTo(4));
        var (_, datagram, _) = Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 48, 100, false, id: 1));
        AssertIsWhole(datagram!, payload, id: 1);
    }

    /// <summary>Linux ip_frag_queue (IPFRAG_DUP): a fragment whose bytes all arrived before is dropped alone, the datagram goes on.</summary>
    [TestCase(0, 64, TestName = "An exact duplicate is dropped alone")]
    [TestCase(16, 32, TestName = "A fragment inside received data is dropped alone")]
    public void A_fragment_whose_bytes_all_arrived_is_a_duplicate(int first, int end)
    {
        var r = new Reassembler(new ReassemblyOptions());
        var payload = Frames.Pattern(100);
        Assert.That(Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 0, 64, true)).Why, Is.EqualTo(DropReason.None));
        Assert.That(Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, first, end, true)).Why, Is.EqualTo(DropReason.Ipv4FragmentDuplicate));
        var (why, datagram, _) = Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 64, 100, false));
        Assert.That(why, Is.EqualTo(DropReason.None));
        AssertIsWhole(datagram!, payload);
    }

    /// <summary>RFC 5722's policy, which Linux applies to IPv4 (CVE-2018-5391): an overlap drops the whole datagram.</summary>
    [TestCase(56, 72, TestName = "A fragment overlapping the end of received data drops the datagram")]
    [TestCase(0, 16, TestName = "A fragment overlapping the start of received data drops the datagram")]
    [TestCase(64, 104, TestName = "A fragment filling a hole and running into data drops the datagram")]
    [TestCase(0, 96, TestName = "A fragment spanning two holes drops the datagram")]
    public void An_overlapping_fragment_drops_the_whole_datagram(int first, int end)
    {
        var r = new Reassembler(new ReassemblyOptions());
        var payload = Frames.Pattern(200);
        // Received [8,64) and [96,104): holes [0,8) [64,96) [104,inf).
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 8, 64, true));
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 96, 104, true));
        Assert.That(Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, first, end, true)).Why, Is.EqualTo(DropReason.Ipv4FragmentOverlap));
        Assert.That(r.Count, Is.Zero, "nothing of the datagram is kept");
        Assert.That(r.Memory, Is.Zero);
        // What remains of it cannot complete a datagram: the fragments after the overlap start a new one.
        Assert.That(Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 104, 200, false)).Datagram, Is.Null);
    }

    [Test]
    public void A_datagram_past_65535_bytes_is_dropped_whole()
    {
        var r = new Reassembler(new ReassemblyOptions());
        var payload = Frames.Pattern(65_600);
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 0, 1480, true));
        Assert.That(Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 65_512, 65_520, false)).Why, Is.EqualTo(DropReason.Ipv4FragmentTooLarge), "20 + 65,520 > 65,535");
        Assert.That(r.Count, Is.Zero);
    }

    /// <summary>Linux ip_frag_queue: a last fragment that disagrees with the length, or data past the last fragment, is corruption.</summary>
    [Test]
    public void Fragments_that_disagree_about_the_length_drop_the_datagram()
    {
        var r = new Reassembler(new ReassemblyOptions());
        var payload = Frames.Pattern(300);
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 200, 300, false));
        Assert.That(Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 200, 296, false)).Why, Is.EqualTo(DropReason.Ipv4FragmentMalformed), "a second last fragment ending elsewhere");
        Assert.That(r.Count, Is.Zero);
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 200, 296, false));
        Assert.That(Add(r, FragmentFrames.Fragment(IpProtocol.Udp, Frames.Pattern(400), 296, 304, true)).Why, Is.EqualTo(DropReason.Ipv4FragmentMalformed), "data past the last fragment");
        Assert.That(r.Count, Is.Zero);
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, Frames.Pattern(400), 296, 304, true));
        Assert.That(Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 200, 280, false)).Why, Is.EqualTo(DropReason.Ipv4FragmentMalformed), "a last fragment ending before data already received");
        Assert.That(r.Count, Is.Zero);
    }

    /// <summary>RFC 791 3.2: the timer starts with the first fragment to arrive and is not restarted by later ones (Linux ipfrag_time).</summary>
    [Test]
    public void A_datagram_expires_30_seconds_after_its_first_fragment_arrived()
    {
        var r = new Reassembler(new ReassemblyOptions());
        var payload = Frames.Pattern(100);
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 48, 100, false), T0);
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 0, 8, true), T0 + TimeSpan.FromSeconds(20));
        Assert.That(r.NextDeadline, Is.EqualTo(T0 + TimeSpan.FromSeconds(30)));
        Assert.That(r.TryExpire(T0 + TimeSpan.FromSeconds(29.999), out _), Is.False);
        Assert.That(r.TryExpire(T0 + TimeSpan.FromSeconds(30), out var expired), Is.True);
        Assert.That(expired.HasFirstFragment, Is.True);
        r.Release(expired);
        Assert.That(r.Count, Is.Zero);
        Assert.That(r.Memory, Is.Zero);
        Assert.That(r.NextDeadline, Is.EqualTo(Instant.MaxValue));
    }

    /// <summary>Our per-source cap: one sender's datagrams never hold more than it; its oldest make room, others are untouched.</summary>
    [Test]
    public void One_source_is_capped_and_its_oldest_datagrams_make_room()
    {
        var options = new ReassemblyOptions();
        var r = new Reassembler(options);
        var payload = Frames.Pattern(65_100);
        var other = Ipv4Address.Parse("10.0.0.9");
        Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 0, 8, true, id: 1, source: other));
        int evicted = 0;
        for (ushort id = 1; id <= 50; id++)
        {
            var (why, _, e) = Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 65_000, 65_008, true, id));
            Assert.That(why, Is.EqualTo(DropReason.None));
            evicted += e;
            Assert.That(r.MemoryOf(Frames.PeerIp), Is.LessThanOrEqualTo(options.MaxMemoryPerSource));
        }
        Assert.That(evicted, Is.EqualTo(50 - 15), "a fragment at offset 65,000 holds a 64 KiB buffer (+ 288 bytes of records): 15 fit in 1 MiB");
        Assert.That(r.InProgress.Select(d => d.Key.Identification).Where((_, i) => i > 0), Is.Ordered, "the oldest went first");
        Assert.That(r.InProgress.Count(d => d.Key.Source == other), Is.EqualTo(1), "another source keeps its datagram");
    }

    /// <summary>The total cap (Linux ipfrag_high_thresh, 4 MiB): many sources together never hold more.</summary>
    [Test]
    public void All_sources_together_are_capped()
    {
        var options = new ReassemblyOptions();
        var r = new Reassembler(options);
        var payload = Frames.Pattern(65_100);
        int evicted = 0;
        for (int i = 0; i < 200; i++)
        {
            var source = Ipv4Address.Parse($"10.0.{1 + i / 250}.{1 + i % 250}");
            var (why, _, e) = Add(r, FragmentFrames.Fragment(IpProtocol.Udp, payload, 65_000, 65_008, true, (ushort)i, source));
            Assert.That(why, Is.EqualTo(DropReason.None));
            evicted += e;
            Assert.That(r.Memory, Is.LessThanOrEqualTo(options.MaxMemory));
        }
        Assert.That(evicted, Is.EqualTo(200 - 63), "a fragment at offset 65,000 holds a 64 KiB buffer (+ 288 bytes of records): 63 fit in 4 MiB");
        Assert.That(r.Memory, Is.EqualTo(r.InProgress.Sum(d => d.Charge)));
    }

    [Test]
    public void Options_that_cannot_hold_one_datagram_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Reassembler(new ReassemblyOptions { MaxMemoryPerSource = 1000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Reassembler(new ReassemblyOptions { MaxMemory = 300_000, MaxMemoryPerSource = 400_000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Reassembler(new ReassemblyOptions { Timeout = TimeSpan.Zero }));
    }
}
