using System.Collections.Concurrent;
using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Drivers.Capture;

/// <summary>
/// Writes frames to a pcapng file (PcapngWriter) that Wireshark, tshark and tcpdump read, each with
/// a packet comment saying why the stack sent it or what became of it (FrameNotes). Thread-safe.
/// Callers sit under the stack's lock, so they only copy the frame and its note into a queue; a
/// writer thread builds the comments and does the file I/O.
/// A received frame's fate is known only after the stack processed it, and frames it sends
/// meanwhile (the answer) must still follow it in the file: <see cref="BeginReceived"/> holds the
/// frame, writes in between wait behind it, <see cref="EndReceived"/> queues it with its fate and then them.
/// </summary>
public sealed class PcapCapture : IDisposable
{
    private readonly record struct Entry(byte[] Frame, long Micros, bool Outbound, FrameNote Note, DropReason Fate, string? Comment);

    private readonly FileStream file;
    private readonly object gate = new();
    private readonly BlockingCollection<Entry> queue = new(new ConcurrentQueue<Entry>(), 65536);
    private readonly List<Entry> waiting = new();
    private readonly Thread writer;
    private Entry? held;
    private bool closed;
    private long frames;

    public PcapCapture(string path)
    {
        file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        file.Write(PcapngWriter.Header("UserStack"));
        Path = path;
        writer = new Thread(WriteLoop) { IsBackground = true, Name = "ustack-pcapng" };
        writer.Start();
    }

    public string Path { get; }
    public long Frames => Interlocked.Read(ref frames);

    /// <summary>A frame the stack sent at wall-clock time <paramref name="at"/>, with the stack's reason for it.</summary>
    public void WriteSent(ReadOnlySpan<byte> frame, DateTime at, FrameNote note) => Enqueue(new(frame.ToArray(), Micros(at), true, note, DropReason.None, null));

    /// <summary>A frame with a comment of the caller's own, at wall-clock time or a virtual instant (counted from the Unix epoch).</summary>
    public void Write(ReadOnlySpan<byte> frame, DateTime at, string? comment = null, bool outbound = true) => Enqueue(new(frame.ToArray(), Micros(at), outbound, default, DropReason.None, comment ?? ""));
    public void Write(ReadOnlySpan<byte> frame, Instant at, string? comment = null, bool outbound = true) => Enqueue(new(frame.ToArray(), at.Microseconds, outbound, default, DropReason.None, comment ?? ""));

    /// <summary>Holds a received frame until its fate is known; frames written meanwhile follow it.</summary>
    /// <param name="checksumOffloaded">the device left the frame's TCP/UDP checksum undone (checksum offload):
    /// the capture shows it filled in, as it was meant to be, not as "bad checksum".</param>
    public void BeginReceived(ReadOnlySpan<byte> frame, DateTime at, bool checksumOffloaded = false)
    {
        var copy = frame.ToArray();
        if (checksumOffloaded) OffloadedChecksum.Complete(copy);
        lock (gate)
        {
            if (held is not null) Release(DropReason.None); // a Begin without an End (the stack threw): keep the frame
            held = new Entry(copy, Micros(at), false, default, DropReason.None, null);
        }
    }

    /// <summary>Queues the held frame with its <paramref name="fate"/> (None: a layer took it), then what waited behind it.</summary>
    public void EndReceived(DropReason fate)
    {
        lock (gate) Release(fate);
    }

    private void Release(DropReason fate)
    {
        if (held is not { } h) return;
        held = null;
        Add(h with { Fate = fate });
        foreach (var e in waiting) Add(e);
        waiting.Clear();
    }

    private void Enqueue(Entry e)
    {
        lock (gate)
        {
            if (held is not null) waiting.Add(e);
            else Add(e);
        }
    }

    private void Add(Entry e)
    {
        if (!closed) queue.Add(e);
    }

    private void WriteLoop()
    {
        foreach (var e in queue.GetConsumingEnumerable())
        {
            string comment = e.Comment ?? (e.Outbound ? FrameNotes.Sent(e.Note, e.Frame) : FrameNotes.Received(e.Fate, e.Frame));
            file.Write(PcapngWriter.Packet(e.Frame, e.Micros, e.Outbound, comment.Length > 0 ? comment : null));
            Interlocked.Increment(ref frames);
        }
    }

    private static long Micros(DateTime at) => (at.ToUniversalTime() - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    public void Dispose()
    {
        lock (gate)
        {
            if (closed) return;
            Release(DropReason.None);
            closed = true;
            queue.CompleteAdding();
        }
        writer.Join();
        file.Dispose();
        queue.Dispose();
    }
}
