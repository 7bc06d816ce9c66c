using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Transport;

/// <summary>The socket table's bind rules, demultiplexing and RFC 6056 ephemeral ports.</summary>
public class PortTableTests
{
    private sealed class Bound(Endpoint local, Endpoint? remote = null, bool reuse = false) : IBoundEndpoint
    {
        public Endpoint Local { get; } = local;
        public Endpoint? Remote { get; } = remote;
        public bool ReuseAddress { get; } = reuse;
        public override string ToString() => $"{Local}->{Remote}";
    }

    private static readonly Ipv4Address A = Ipv4Address.Parse("10.0.0.2");
    private static readonly Ipv4Address B = Ipv4Address.Parse("10.0.0.3");
    private static readonly Ipv4Address Peer = Ipv4Address.Parse("10.0.0.1");

    private static PortTable<Bound> Table(ushort first = 49152, ushort last = 65535, byte key = 1) =>
        new(new EphemeralPortAllocator(first, last, Enumerable.Repeat(key, 32).ToArray()));

    private static Errno Bind(PortTable<Bound> t, Endpoint local, bool reuse = false, Endpoint? remote = null)
    {
        var e = t.Choose(local, reuse, remote, out var chosen);
        if (e == Errno.Ok) t.Add(new Bound(chosen, remote, reuse));
        return e;
    }

    [Test]
    public void The_same_address_and_port_twice_is_address_in_use()
    {
        var t = Table();
        Assert.That(Bind(t, new(A, 7)), Is.EqualTo(Errno.Ok));
        Assert.That(Bind(t, new(A, 7)), Is.EqualTo(Errno.EADDRINUSE));
    }

    [Rfc(9293, "MUST-43")]
    [Test]
    public void A_wildcard_bind_conflicts_with_a_specific_one_either_way()
    {
        var t = Table();
        Assert.That(Bind(t, new(Ipv4Address.Any, 7)), Is.EqualTo(Errno.Ok));
        Assert.That(Bind(t, new(A, 7)), Is.EqualTo(Errno.EADDRINUSE));
        var u = Table();
        Assert.That(Bind(u, new(A, 7)), Is.EqualTo(Errno.Ok));
        Assert.That(Bind(u, new(Ipv4Address.Any, 7)), Is.EqualTo(Errno.EADDRINUSE));
    }

    [Test]
    public void Different_specific_addresses_share_a_port()
    {
        var t = Table();
        Assert.That(Bind(t, new(A, 7)), Is.EqualTo(Errno.Ok));
        Assert.That(Bind(t, new(B, 7)), Is.EqualTo(Errno.Ok));
    }

    [Test]
    public void SO_REUSEADDR_on_both_sockets_allows_the_same_binding()
    {
        var t = Table();
        Assert.That(Bind(t, new(A, 7), reuse: true), Is.EqualTo(Errno.Ok));
        Assert.That(Bind(t, new(A, 7), reuse: false), Is.EqualTo(Errno.EADDRINUSE), "only when both ask");
        Assert.That(Bind(t, new(A, 7), reuse: true), Is.EqualTo(Errno.Ok));
    }

    [Test]
    public void Lookup_prefers_connected_then_specific_then_wildcard()
    {
        var t = Table();
        var wildcard = new Bound(new(Ipv4Address.Any, 53), null, true);
        var specific = new Bound(new(A, 53), null, true);
        var connected = new Bound(new(A, 53), new(Peer, 4000), true);
        t.Add(wildcard); t.Add(specific); t.Add(connected);
        Assert.That(t.Lookup(new(A, 53), new(Peer, 4000)), Is.SameAs(connected));
        Assert.That(t.Lookup(new(A, 53), new(Peer, 4001)), Is.SameAs(specific));
        Assert.That(t.Lookup(new(Ipv4Address.Broadcast, 53), new(Peer, 4001)), Is.SameAs(wildcard));
        Assert.That(t.Lookup(new(A, 54), new(Peer, 4000)), Is.Null);
        t.Remove(connected);
        Assert.That(t.Lookup(new(A, 53), new(Peer, 4000)), Is.SameAs(specific));
    }


    [Rfc(9293, "MUST-42")]
    [Test]
    public void Lookup_finds_a_connection_among_many_on_a_listeners_port_and_the_listener_for_a_new_peer()
    {
        var t = Table();
        var listener = new Bound(new(Ipv4Address.Any, 7));
        t.Add(listener);
        var children = Enumerable.Range(0, 200).Select(i => new Bound(new(A, 7), new(Peer, (ushort)(10000 + i)))).ToList();
        children.ForEach(t.Add);
        var connectedWildcard = new Bound(new(Ipv4Address.Any, 7), new(Peer, 9999)); // connect() without a bound address
        t.Add(connectedWildcard);
        Assert.That(t.Lookup(new(A, 7), new(Peer, 10123)), Is.SameAs(children[123]));
        Assert.That(t.Lookup(new(A, 7), new(Peer, 9999)), Is.SameAs(connectedWildcard));
        Assert.That(t.Lookup(new(A, 7), new(Peer, 20000)), Is.SameAs(listener));
        t.Remove(children[123]);
        Assert.That(t.Lookup(new(A, 7), new(Peer, 10123)), Is.SameAs(listener));
        Assert.That(t.Count, Is.EqualTo(201));
    }

    [Test]
    public void Lookup_of_a_four_tuple_shared_under_SO_REUSEADDR_gives_the_first_bound_then_the_next()
    {
        var t = Table();
        var first = new Bound(new(A, 53), new(Peer, 4000), true);
        var second = new Bound(new(A, 53), new(Peer, 4000), true);
        t.Add(first); t.Add(second);
        Assert.That(t.Lookup(new(A, 53), new(Peer, 4000)), Is.SameAs(first));
        t.Remove(first);
        Assert.That(t.Lookup(new(A, 53), new(Peer, 4000)), Is.SameAs(second));
        t.Remove(second);
        Assert.That(t.Lookup(new(A, 53), new(Peer, 4000)), Is.Null);
    }
    [Test]
    public void Ephemeral_ports_stay_in_range_and_never_repeat_while_in_use_until_exhausted()
    {
        var t = Table(50000, 50099);
        var ports = new HashSet<ushort>();
        for (int i = 0; i < 100; i++)
        {
            Assert.That(t.Choose(new(A, 0), false, null, out var chosen), Is.EqualTo(Errno.Ok));
            Assert.That(chosen.Port, Is.InRange((ushort)50000, (ushort)50099));
            Assert.That(ports.Add(chosen.Port), Is.True, $"port {chosen.Port} handed out twice");
            t.Add(new Bound(chosen));
        }
        Assert.That(t.Choose(new(A, 0), false, null, out _), Is.EqualTo(Errno.EADDRNOTAVAIL), "exhaustion is reported");

        var released = t.All.First();
        t.Remove(released);
        Assert.That(t.Choose(new(A, 0), false, null, out var again), Is.EqualTo(Errno.Ok));
        Assert.That(again.Port, Is.EqualTo(released.Local.Port), "the only free port");
    }

    [Test]
    public void Ephemeral_ports_spread_evenly_over_the_range()
    {
        var t = Table();
        const int buckets = 16, perBucket = 500;
        var counts = new int[buckets];
        for (int i = 0; i < buckets * perBucket; i++)
        {
            // Different peers, as RFC 6056 algorithm 3 is keyed by them.
            var remote = new Endpoint(new Ipv4Address((uint)(0x0A000000 + i)), (ushort)(1000 + i % 7));
            Assert.That(t.Choose(new(A, 0), false, remote, out var chosen), Is.EqualTo(Errno.Ok));
            t.Add(new Bound(chosen, remote));
            counts[(chosen.Port - 49152) * buckets / 16384]++;
        }
        Assert.That(counts, Is.All.InRange(perBucket * 3 / 4, perBucket * 5 / 4), string.Join(",", counts));
    }

    [Test]
    public void The_secret_key_changes_the_sequence_an_observer_sees()
    {
        ushort First(byte key)
        {
            var t = Table(key: key);
            t.Choose(new(A, 0), false, new Endpoint(Peer, 80), out var c);
            return c.Port;
        }
        Assert.That(new[] { First(1), First(2), First(3) }.Distinct().Count(), Is.GreaterThan(1));
        Assert.That(First(1), Is.EqualTo(First(1)));
    }
}
