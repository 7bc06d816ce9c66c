using System.Collections.Concurrent;

namespace UserStack.Drivers.Memory;

/// <summary>
/// Two <see cref="IFrameDevice"/>s joined by in-memory queues, on real threads and the real
/// clock: the way to run two hosted stacks (sockets, daemons) against each other in one process
/// without a TAP. For seeded faults and virtual time, use the VirtualWire instead.
/// </summary>
public static class MemoryLink
{
    public static (IFrameDevice A, IFrameDevice B) Create(string name = "mem")
    {
        var a = new End($"{name}0");
        var b = new End($"{name}1");
        a.Peer = b;
        b.Peer = a;
        return (a, b);
    }

    private sealed class End(string name) : IFrameDevice
    {
        private readonly BlockingCollection<byte[]> inbox = new(boundedCapacity: 4096);
        private readonly CancellationTokenSource stop = new();
        private Thread? reader;
        public End? Peer { get; set; }
        public string Name { get; } = name;

        public void Start(FrameHandler handler)
        {
            reader = new Thread(() =>
            {
                try
                {
                    foreach (var frame in inbox.GetConsumingEnumerable(stop.Token)) handler(frame);
                }
                catch (OperationCanceledException) { }
            }) { IsBackground = true, Name = $"memlink:{Name}" };
            reader.Start();
        }

        // Like a NIC queue: when the peer is not keeping up, the frame is lost.
        public bool Send(ReadOnlySpan<byte> frame) => Peer is { } p && !p.stop.IsCancellationRequested && p.inbox.TryAdd(frame.ToArray());

        public void Dispose()
        {
            if (stop.IsCancellationRequested) return;
            stop.Cancel();
            if (reader is not null && reader != Thread.CurrentThread) reader.Join();
        }
    }
}
