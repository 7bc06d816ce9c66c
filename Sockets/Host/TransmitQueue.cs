using System.Buffers;
using UserStack.Drivers;

namespace UserStack.Sockets.Host;

/// <summary>
/// Frames the stack sent, waiting to be written to their device outside the stack's lock: a TAP
/// write is a system call, and while it runs under the lock nothing else (a frame read, a timer,
/// a socket call) can touch protocol state. Frames go out in the order the stack sent them.
/// <para>
/// Who writes: the thread that made the frames, once it has left the lock, when there are few
/// (a reply to one frame goes out with no hand-over, as fast as before); a writer thread of its
/// own when there are many (a burst of SYN-ACKs under a flood, a window of data), so that the
/// reader goes back to the device while the writer works on the other core.
/// </para>
/// </summary>
public sealed class TransmitQueue : IDisposable
{
    /// <summary>Up to this many queued frames the thread that left the lock writes them itself.</summary>
    public const int WriteInlineUpTo = 4;
    /// <summary>Frames that may wait at once (Linux's TAP queue here is 4000); beyond, the newest is dropped.</summary>
    public const int Capacity = 4096;
    /// <summary>The queue keeps buffers of this size for reuse (a 1500-byte MTU frame); larger frames rent from the shared pool.</summary>
    private const int SlotSize = 2048;

    private readonly object queueLock = new();
    private readonly object writeLock = new(); // one writer at a time: frames keep their order
    private List<Pending> queued = new();
    private List<Pending> writing = new();
    private readonly Stack<byte[]> freeSlots = new(); // under queueLock; at most Capacity slots ever made
    private readonly Thread writer;
    private bool writerIdle;
    private volatile bool stopping;
    private long written, failed;
    [ThreadStatic] private static bool callerFlushes;

    public TransmitQueue()
    {
        writer = new Thread(WriterLoop) { IsBackground = true, Name = "ustack-transmit" };
        writer.Start();
    }

    /// <summary>Frames written to their device, and frames a device refused (its own counters say why).</summary>
    public long Written => Interlocked.Read(ref written);
    public long Failed => Interlocked.Read(ref failed);

    /// <summary>
    /// Queues a copy of <paramref name="frame"/> for <paramref name="device"/> (under the stack's lock; no system call);
    /// false when <see cref="Capacity"/> frames already wait (the caller counts the drop).
    /// </summary>
    public bool Enqueue(IFrameDevice device, ReadOnlySpan<byte> frame, int segmentSize = 0)
    {
        lock (queueLock)
        {
            if (queued.Count >= Capacity) return false;
            byte[] buffer = frame.Length > SlotSize ? ArrayPool<byte>.Shared.Rent(frame.Length)
                : freeSlots.TryPop(out var slot) ? slot : new byte[SlotSize];
            frame.CopyTo(buffer);
            queued.Add(new Pending(device, buffer, frame.Length, segmentSize));
            if (!callerFlushes && writerIdle) Monitor.Pulse(queueLock); // a socket call: the writer sends it while the caller goes on
        }
        return true;
    }

    /// <summary>
    /// The reader's and the timer's way: frames this thread queues wake no writer, because it calls
    /// <see cref="FlushAsCaller"/> as soon as it has left the stack's lock (no hand-over for a reply).
    /// </summary>
    public void CallerWillFlush() => callerFlushes = true;

    /// <summary>After <see cref="CallerWillFlush"/>, once out of the stack's lock.</summary>
    public void FlushAsCaller()
    {
        callerFlushes = false;
        Flush();
    }

    /// <summary>
    /// After leaving the stack's lock: writes what is queued now when it is little and no one else
    /// is writing, otherwise wakes the writer thread.
    /// </summary>
    public void Flush()
    {
        int count;
        lock (queueLock) count = queued.Count;
        if (count == 0) return;
        if (count <= WriteInlineUpTo && Monitor.TryEnter(writeLock))
        {
            try { WriteQueued(); }
            finally { Monitor.Exit(writeLock); }
            return;
        }
        WakeWriter();
    }

    private void WakeWriter()
    {
        lock (queueLock)
            if (writerIdle) Monitor.Pulse(queueLock);
    }

    private void WriterLoop()
    {
        IoThreadPriority.ApplyToCurrentThread();
        while (true)
        {
            lock (queueLock)
            {
                while (queued.Count == 0 && !stopping)
                {
                    writerIdle = true;
                    Monitor.Wait(queueLock);
                    writerIdle = false;
                }
                if (queued.Count == 0 && stopping) return;
            }
            lock (writeLock) WriteQueued();
        }
    }

    /// <summary>Under <see cref="writeLock"/>: takes everything queued and writes it, in order.</summary>
    private void WriteQueued()
    {
        while (true)
        {
            lock (queueLock)
            {
                if (queued.Count == 0) return;
                (queued, writing) = (writing, queued);
            }
            foreach (var p in writing)
            {
                try
                {
                    if (StackHost.Send(p.Device, p.Buffer.AsSpan(0, p.Length), p.SegmentSize)) written++;
                    else failed++;
                }
                catch (ObjectDisposedException) { failed++; } // the device closed while frames were queued
            }
            lock (queueLock)
                foreach (var p in writing)
                    if (p.Buffer.Length == SlotSize) freeSlots.Push(p.Buffer);
                    else ArrayPool<byte>.Shared.Return(p.Buffer);
            writing.Clear();
        }
    }

    /// <summary>Writes what is still queued, then stops the writer thread (before the devices are closed).</summary>
    public void Dispose()
    {
        if (stopping) return;
        lock (queueLock)
        {
            stopping = true;
            Monitor.PulseAll(queueLock);
        }
        writer.Join();
    }

    /// <summary>A frame to write; <see cref="SegmentSize"/> &gt; 0: a TSO super-segment.</summary>
    private readonly record struct Pending(IFrameDevice Device, byte[] Buffer, int Length, int SegmentSize);
}
