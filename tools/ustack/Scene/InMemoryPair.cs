using UserStack.Tcp;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tools.Scene;

/// <summary>
/// Two stacks on one thread, joined by queues of reused frame buffers (used by the speed table and
/// Tests/Tcp/DataPathAllocationTests), with a connected TCP pair: nothing but the stacks' own
/// work and a copy per frame. Each <see cref="Step"/> moves virtual time 100 µs, delivers what is
/// in flight (and what that makes) and fires timers.
/// </summary>
public sealed class InMemoryPair
{
    private readonly Queue<(byte[] Frame, int Length, NetStack To)> inFlight = new();
    private readonly Stack<byte[]> free = new();
    private readonly NetStack a, b;
    private readonly byte[] sink = new byte[65536];

    public Instant Now { get; private set; } = Instant.FromMilliseconds(1000);
    /// <summary>Frames from A to B (the data) and from B to A (the ACKs).</summary>
    public long FramesToB { get; private set; }
    public long FramesToA { get; private set; }
    /// <summary>Bytes the server's application has read.</summary>
    public long Received { get; private set; }
    public TcpConnection Client { get; }
    public TcpConnection Server { get; }

    public InMemoryPair()
    {
        a = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:0c:01"), Address = Ipv4Cidr.Parse("10.12.0.1/24"), Secret = [1] }, new Sink(this, () => b!));
        b = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:0c:02"), Address = Ipv4Cidr.Parse("10.12.0.2/24"), Secret = [2] }, new Sink(this, () => a));
        a.Start(Now);
        b.Start(Now);
        var listener = b.Tcp.Open();
        b.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 9));
        b.Tcp.Listen(listener, 4, Now);
        Client = a.Tcp.Open();
        a.Tcp.Connect(Client, new Endpoint(Ipv4Address.Parse("10.12.0.2"), 9), Now);
        TcpConnection? server = null;
        for (int i = 0; i < 100 && (server ??= listener.TakeAccepted()) is null; i++) Step();
        Server = server ?? throw new InvalidOperationException("the two in-memory stacks did not connect");
    }

    private sealed class Sink(InMemoryPair wire, Func<NetStack> to) : IFrameSink
    {
        public void Transmit(ReadOnlySpan<byte> frame)
        {
            var buffer = wire.free.TryPop(out var reused) ? reused : new byte[2048];
            frame.CopyTo(buffer);
            var target = to();
            wire.inFlight.Enqueue((buffer, frame.Length, target));
            if (target == wire.b) wire.FramesToB++; else wire.FramesToA++;
        }
    }

    /// <summary>Delivers what is in flight (and what that makes), fires timers, and lets the server read.</summary>
    public void Step()
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
        if (Server is null) return;
        int read;
        while ((read = Server.Receive(sink, peek: false, Now, out _)) > 0) Received += read;
    }

    /// <summary>The client writes <paramref name="data"/> (as much as its buffer takes), then one step.</summary>
    public void SendAndStep(ReadOnlySpan<byte> data)
    {
        Client.Send(data, Now, out _);
        Step();
    }
}
