using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>RFC 6528: ISN = M + F(4-tuple, secret), M a clock ticking every 4 microseconds.</summary>
public class InitialSequenceNumberTests
{
    private static uint SynSequence(StackUnderTest s, TcpConnection c, ushort localPort, ushort remotePort)
    {
        Assert.That(s.Stack.Tcp.Bind(c, new Endpoint(Ipv4Address.Any, localPort)), Is.EqualTo(Errno.Ok));
        Assert.That(s.Stack.Tcp.Connect(c, new Endpoint(Frames.PeerIp, remotePort), s.Now), Is.EqualTo(Errno.Ok));
        var frame = s.Sink.Frames.Last();
        Assert.That(Ipv4Packet.TryRead(frame.AsSpan(14), out var ip, out _), Is.True);
        Assert.That(TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var syn, out _), Is.True);
        Assert.That(syn.Flags, Is.EqualTo(TcpFlags.Syn));
        return syn.Sequence.Value;
    }

    [Rfc(9293, "MUST-9")]
    [Test]
    public void Different_connections_at_the_same_moment_get_unrelated_isns()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var isns = Enumerable.Range(0, 8).Select(i => SynSequence(s, s.Stack.Tcp.Open(), (ushort)(40000 + i), 80)).ToArray();
        Assert.That(isns, Is.Unique);
        Assert.That(isns.Zip(isns.Skip(1), (a, b) => unchecked(b - a)).Distinct().Count(), Is.GreaterThan(1), "not a counter: F() hashes each 4-tuple");
    }

    [Rfc(9293, "MUST-8")]
    [Test]
    public void The_same_four_tuple_later_moves_on_with_the_4_microsecond_clock()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var first = s.Stack.Tcp.Open();
        uint before = SynSequence(s, first, 40000, 80);
        s.Stack.Tcp.Close(first, s.Now);
        s.Advance(TimeSpan.FromMilliseconds(1));
        uint after = SynSequence(s, s.Stack.Tcp.Open(), 40000, 80);
        Assert.That(unchecked(after - before), Is.EqualTo(250u), "1 ms is 250 ticks of 4 µs");
    }

    [Rfc(9293, "MUST-9")]
    [Test]
    public void Another_secret_gives_other_isns()
    {
        uint With(byte key)
        {
            var s = new StackUnderTest(Frames.Options() with { Secret = [key] });
            s.LearnPeer();
            return SynSequence(s, s.Stack.Tcp.Open(), 40000, 80);
        }
        Assert.That(With(1), Is.Not.EqualTo(With(2)));
        Assert.That(With(1), Is.EqualTo(With(1)));
    }
}
