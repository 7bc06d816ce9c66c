using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>Connections that cannot use their buffers hold none: a SYN flood costs records, not megabytes.</summary>
public class IdleMemoryTests
{
    [Test]
    public void A_thousand_half_open_connections_hold_no_buffer_memory()
    {
        var stack = new NetStack(Frames.Options() with { Tcp = new TcpOptions() }, new NullSink());
        var now = Instant.FromMilliseconds(1);
        stack.Receive(Frames.ArpRequestForStack(), now);
        var listener = stack.Tcp.Open();
        stack.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 80));
        stack.Tcp.Listen(listener, 4096, now);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            var syn = new TcpRepr((ushort)(20000 + i), 80, new SeqNumber((uint)i * 7919), default, TcpFlags.Syn, 64240,
                Options: new TcpOptionsRepr(MaximumSegmentSize: 1460, WindowScale: 7, SackPermitted: true, Timestamps: (1u, 0u)));
            var segment = new byte[syn.Length];
            syn.Write(segment, Frames.PeerIp, Frames.StackIp);
            stack.Receive(Frames.Ipv4(IpProtocol.Tcp, segment), now);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Out.WriteLine($"{allocated / 1000} bytes allocated per half-open connection");

        Assert.That(stack.Tcp.HalfOpenRecords, Has.Count.EqualTo(1000), "each half-open child is a record");
        Assert.That(stack.Tcp.Connections.Where(c => c.State == TcpState.SynReceived), Is.Empty, "no connection object, so no buffer, per half-open child");
        // Each half-open connection is a few KiB of records; with its two 256 KiB buffers it was 512 KiB.
        Assert.That(allocated, Is.LessThan(1000 * 16 * 1024), $"{allocated / 1000} bytes per half-open connection");
        Assert.That(stack.Tcp.CheckInvariants(now), Is.Null);
    }

    private sealed class NullSink : IFrameSink
    {
        public void Transmit(ReadOnlySpan<byte> frame) { }
    }
}
