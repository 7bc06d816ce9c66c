using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// A SYN flood with random sources is answered with SYN cookies (RFC 4987 3.6) and must cost no
/// heap per SYN: 240 B each (a boxed enumerator per interface loop) grew a flooded stack by 64 MiB.
/// Bytes are counted by the runtime on this thread: a count, not a timing.
/// </summary>
public class SynFloodAllocationTests
{
    /// <summary>A stack with a listener on port 80 and its gateway's MAC learned.</summary>
    internal static StackUnderTest ListeningOn80(int backlog)
    {
        var s = new StackUnderTest(Frames.Options() with { Secret = [1, 2, 3] });
        s.LearnPeer();
        var listener = s.Stack.Tcp.Open();
        s.Stack.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 80));
        s.Stack.Tcp.Listen(listener, backlog, s.Now);
        return s;
    }

    /// <summary>SYN frames to port 80 from random unicast sources and ports (MSS 1460, plus the options given).</summary>
    internal static List<byte[]> SynsFromRandomSources(Random rng, int count, TcpOptionsRepr? options = null)
    {
        var syns = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            var source = new Ipv4Address((uint)rng.Next(0x0b000000, 0x7effffff)); // unicast, not ours
            var repr = new TcpRepr((ushort)rng.Next(1024, 65535), 80, new SeqNumber((uint)rng.Next()), default, TcpFlags.Syn, 512,
                Options: options ?? new TcpOptionsRepr(MaximumSegmentSize: 1460));
            var bytes = new byte[repr.Length];
            repr.Write(bytes, source, Frames.StackIp);
            syns.Add(Frames.Ipv4(IpProtocol.Tcp, bytes, source));
        }
        return syns;
    }

    [Test]
    public void A_flood_of_syns_answered_with_cookies_allocates_nothing_per_syn()
    {
        var s = ListeningOn80(backlog: 4);
        var syns = SynsFromRandomSources(new Random(1), 1024);
        for (int i = 0; i < 20_000; i++) s.Receive(syns[i % syns.Count]); // warm-up: queues, tables and caches reach their size
        long cookiesBefore = s.Stack.Counters[Counter.TcpSynCookiesSent], sentBefore = s.Stack.Counters[Counter.TcpSent];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50_000; i++) s.Receive(syns[i % syns.Count]);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(s.Stack.Counters[Counter.TcpSent] - sentBefore, Is.EqualTo(50_000), "every SYN answered");
        Assert.That(s.Stack.Counters[Counter.TcpSynCookiesSent] - cookiesBefore, Is.GreaterThan(49_000),
            "with a cookie (but the four SYNs that made the queue's children, which their child answers)");
        Assert.That(allocated, Is.Zero, $"{allocated / 50_000.0:0.0} B per SYN");
    }
}
