using System.Buffers;
using System.Diagnostics;

namespace UserStack.Drivers.Faults;

/// <summary>
/// Frames waiting for their due time on the monotonic clock, released in due order by a thread of
/// their own: the caller that queues a frame never waits for its delay. Bounded: a full line refuses
/// the frame. Frames leave within about a millisecond after their due time (Monitor.Wait's resolution).
/// </summary>
internal sealed class DelayLine : IDisposable
{
    private const int BatchSize = 64;

    private readonly object gate = new();
    private readonly PriorityQueue<(byte[] Buffer, int Length), (TimeSpan Due, long Sequence)> waiting = new();
    private readonly Stopwatch clock;
    private readonly FrameHandler deliver;
    private readonly int limit;
    private readonly Thread thread;
    private long sequence;
    private bool stopping;

    public DelayLine(string name, Stopwatch clock, int limit, FrameHandler deliver)
    {
        this.clock = clock;
        this.limit = limit;
        this.deliver = deliver;
        thread = new Thread(Run) { IsBackground = true, Name = $"delay:{name}" };
        thread.Start();
    }

    public int Count { get { lock (gate) return waiting.Count; } }

    /// <summary>Copies the frame in; false when the line is full or stopped.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> frame, TimeSpan due)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(buffer);
        lock (gate)
        {
            if (stopping || waiting.Count >= limit)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return false;
            }
            // Wake the thread only when this frame is due before everything it is waiting for.
            bool first = !waiting.TryPeek(out _, out var head) || due < head.Due;
            waiting.Enqueue((buffer, frame.Length), (due, sequence++));
            if (first) Monitor.Pulse(gate);
        }
        return true;
    }

    private void Run()
    {
        var batch = new List<(byte[] Buffer, int Length)>(BatchSize);
        while (true)
        {
            lock (gate)
            {
                while (true)
                {
                    if (stopping) return;
                    if (!waiting.TryPeek(out _, out var head)) { Monitor.Wait(gate); continue; }
                    var wait = head.Due - clock.Elapsed;
                    if (wait <= TimeSpan.Zero) break;
                    // Round up: a frame never leaves before its due time.
                    Monitor.Wait(gate, TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)));
                }
                var now = clock.Elapsed;
                while (batch.Count < BatchSize && waiting.TryPeek(out var frame, out var key) && key.Due <= now)
                {
                    waiting.Dequeue();
                    batch.Add(frame);
                }
            }
            // Deliver outside the lock: a TAP write or the stack's handler must not block queuing.
            foreach (var (buffer, length) in batch)
            {
                deliver(buffer.AsSpan(0, length));
                ArrayPool<byte>.Shared.Return(buffer);
            }
            batch.Clear();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (stopping) return;
            stopping = true;
            Monitor.Pulse(gate);
        }
        if (thread != Thread.CurrentThread) thread.Join();
        lock (gate)
        {
            while (waiting.TryDequeue(out var frame, out _)) ArrayPool<byte>.Shared.Return(frame.Buffer);
        }
    }
}
