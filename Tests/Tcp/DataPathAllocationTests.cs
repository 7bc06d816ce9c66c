using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// A bulk transfer between two stacks on a wire that reuses its frame buffers costs no heap per
/// segment once it runs (issue 12's goal: 0 B per segment on both paths in steady state). Bytes are
/// counted by the runtime on this thread: a count, not a timing.
/// </summary>
public class DataPathAllocationTests
{
    /// <summary>Two stacks joined by queues of reused buffers; a frame arrives 100 µs after it was sent.</summary>
    private sealed class PooledWire
    {
        private readonly Queue<(byte[] Frame, int Length, NetStack To)> inFlight = new();
        private readonly Stack<byte[]> free = new();
        public Instant Now = Instant.FromMilliseconds(1000);
        public long Frames;

        public IFrameSink SinkTo(Func<NetStack> to) => new Sink(this, to);

        private sealed class Sink(PooledWire wire, Func<NetStack> to) : IFrameSink
        {
            public void Transmit(ReadOnlySpan<byte> frame)
            {
                var buffer = wire.free.TryPop(out var b) ? b : new byte[2048];
                frame.CopyTo(buffer);
                wire.inFlight.Enqueue((buffer, frame.Length, to()));
                wire.Frames++;
            }
        }

        /// <summary>Delivers what is in flight (and what that makes), firing timers as time passes.</summary>
        public void Step(NetStack a, NetStack b)
        {
            Now += TimeSpan.FromMicroseconds(100);
            for (int n = inFlight.Count; n > 0; n--)
            {
                var (frame, length, to) = inFlight.Dequeue();
                to.Receive(frame.AsSpan(0, length), Now);
                free.Push(frame);
            }
            a.Poll(Now);
            b.Poll(Now);
        }
    }

    [Test]
    public void A_bulk_transfer_allocates_nothing_per_segment_in_steady_state()
    {
        var wire = new PooledWire();
        NetStack a = null!, b = null!;
        a = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:0b:01"), Address = Ipv4Cidr.Parse("10.11.0.1/24"), Secret = [1] }, wire.SinkTo(() => b));
        b = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:0b:02"), Address = Ipv4Cidr.Parse("10.11.0.2/24"), Secret = [2] }, wire.SinkTo(() => a));
        a.Start(wire.Now);
        b.Start(wire.Now);
        var listener = b.Tcp.Open();
        b.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 9));
        b.Tcp.Listen(listener, 4, wire.Now);
        var client = a.Tcp.Open();
        a.Tcp.Connect(client, new Endpoint(Ipv4Address.Parse("10.11.0.2"), 9), wire.Now);
        TcpConnection? server = null;
        for (int i = 0; i < 100 && (server ??= listener.TakeAccepted()) is null; i++) wire.Step(a, b);
        Assert.That(server, Is.Not.Null, "connected");

        var chunk = new byte[16384];
        var sink = new byte[65536];
        long received = 0;
        void Run(int steps)
        {
            for (int i = 0; i < steps; i++)
            {
                client.Send(chunk, wire.Now, out _);
                wire.Step(a, b);
                int n;
                while ((n = server!.Receive(sink, peek: false, wire.Now, out _)) > 0) received += n;
            }
        }
        Run(20_000); // slow start done, buffers rented, tables and pools at their size
        long framesBefore = wire.Frames, receivedBefore = received;
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(20_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long frames = wire.Frames - framesBefore;

        TestContext.Out.WriteLine($"{(received - receivedBefore) / 1048576.0:0} MiB in {frames} frames, {allocated} B allocated");
        Assert.That(received - receivedBefore, Is.GreaterThan(100L * 1024 * 1024), "the transfer ran");
        Assert.That(allocated, Is.Zero, $"{allocated / (double)frames:0.00} B per frame over {frames} frames");
    }
}
