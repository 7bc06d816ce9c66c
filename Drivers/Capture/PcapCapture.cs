using UserStack.Time;

namespace UserStack.Drivers.Capture;

/// <summary>
/// Writes frames to a pcapng file (PcapngWriter) that Wireshark, tshark and tcpdump read, each with
/// a packet comment saying why the stack sent it or what became of it. Thread-safe.
/// A received frame's fate is known only after the stack processed it, and frames it sends
/// meanwhile (the answer) must still follow it in the file: <see cref="BeginReceived"/> holds the
/// frame, writes in between wait behind it, <see cref="EndReceived"/> writes it with its comment and then them.
/// </summary>
public sealed class PcapCapture : IDisposable
{
    private readonly FileStream file;
    private readonly object gate = new();
    private readonly List<byte[]> waiting = new();
    private (byte[] Frame, long Micros)? held;
    private bool closed;

    public PcapCapture(string path)
    {
        file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        file.Write(PcapngWriter.Header("UserStack"));
        Path = path;
    }

    public string Path { get; }
    public long Frames { get; private set; }

    /// <summary>Records a frame seen at wall-clock time <paramref name="at"/>; <paramref name="outbound"/>: sent by the stack.</summary>
    public void Write(ReadOnlySpan<byte> frame, DateTime at, string? comment = null, bool outbound = true) => Write(frame, Micros(at), comment, outbound);

    /// <summary>Records a frame at a virtual instant (counted from the Unix epoch).</summary>
    public void Write(ReadOnlySpan<byte> frame, Instant at, string? comment = null, bool outbound = true) => Write(frame, at.Microseconds, comment, outbound);

    /// <summary>Holds a received frame until its fate is known; frames written meanwhile follow it.</summary>
    public void BeginReceived(ReadOnlySpan<byte> frame, DateTime at)
    {
        lock (gate)
        {
            if (held is not null) Flush(null); // a Begin without an End (the stack threw): keep the frame, uncommented
            held = (frame.ToArray(), Micros(at));
        }
    }

    /// <summary>Writes the held frame with <paramref name="comment"/>, then what waited behind it.</summary>
    public void EndReceived(string comment)
    {
        lock (gate) Flush(comment);
    }

    private void Flush(string? comment)
    {
        if (held is not { } h) return;
        held = null;
        Append(PcapngWriter.Packet(h.Frame, h.Micros, outbound: false, comment));
        foreach (var block in waiting) Append(block);
        waiting.Clear();
    }

    private void Write(ReadOnlySpan<byte> frame, long micros, string? comment, bool outbound)
    {
        var block = PcapngWriter.Packet(frame, micros, outbound, comment);
        lock (gate)
        {
            if (held is not null) waiting.Add(block);
            else Append(block);
        }
    }

    private void Append(byte[] block)
    {
        if (closed) return;
        file.Write(block);
        Frames++;
    }

    private static long Micros(DateTime at) => (at.ToUniversalTime() - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    public void Dispose()
    {
        lock (gate)
        {
            if (closed) return;
            Flush(null);
            closed = true;
            file.Dispose();
        }
    }
}
