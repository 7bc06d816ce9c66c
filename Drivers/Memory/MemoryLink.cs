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

    // Frames travel in pooled buffers through a queue and a semaphore: nothing is allocated per
    // frame in steady state, so socket benchmarks over the link measure the stack, not the link.
    private sealed class End(string name) : IFrameDevice
    {
        private const int Capacity = 4096;
        private readonly ConcurrentQueue<(byte[] Buffer, int Length)> inbox = new();
        private readonly SemaphoreSlim ready = new(0);
        private int queued;
        private volatile bool stopping;
        private Thread? reader;
        public End? Peer { get; set; }
        public string Name { get; } = name;

        public void Start(FrameHandler handler)
        {
            reader = new Thread(() =>
            {
                while (true)
                {
                    ready.Wait();
                    if (stopping) return;
                    if (!inbox.TryDequeue(out var frame)) continue;
                    Interlocked.Decrement(ref queued);
                    try { handler(frame.Buffer.AsSpan(0, frame.Length)); }
                    finally { System.Buffers.ArrayPool<byte>.Shared.Return(frame.Buffer); }
                }
            }) { IsBackground = true, Name = $"memlink:{Name}" };
            reader.Start();
        }

        // Like a NIC queue: when the peer is not keeping up, the frame is lost.
        public bool Send(ReadOnlySpan<byte> frame) => Peer is { } p && p.Enqueue(frame);

        private bool Enqueue(ReadOnlySpan<byte> frame)
        {
            if (stopping) return false;
            if (Interlocked.Increment(ref queued) > Capacity) { Interlocked.Decrement(ref queued); return false; }
            var copy = System.Buffers.ArrayPool<byte>.Shared.Rent(frame.Length);
            frame.CopyTo(copy);
            inbox.Enqueue((copy, frame.Length));
            ready.Release();
            return true;
        }

        public void Dispose()
        {
            if (stopping) return;
            stopping = true;
            ready.Release();
            if (reader is not null && reader != Thread.CurrentThread) reader.Join();
        }
    }
}
