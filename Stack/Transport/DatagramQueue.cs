using System.Buffers;

namespace UserStack.Transport;

/// <summary>
/// Datagrams waiting to be read, with their sources, bounded in bytes like a socket receive
/// buffer. Each datagram is copied once into a pooled array and returned on read.
/// </summary>
public sealed class DatagramQueue
{
    /// <summary>Bytes a queued datagram costs beyond its payload, so that empty datagrams are bounded too.</summary>
    public const int Overhead = 64;

    private readonly Queue<Entry> queue = new();

    public int Capacity { get; set; } = 212992; // Linux's rmem_default
    public int Bytes { get; private set; }
    public int Count => queue.Count;
    public long Overflows { get; private set; }
    public int NextLength => queue.TryPeek(out var e) ? e.Length : 0;

    public bool TryEnqueue(ReadOnlySpan<byte> payload, Endpoint from)
    {
        int cost = payload.Length + Overhead;
        if (Bytes + cost > Capacity) { Overflows++; return false; }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 1));
        payload.CopyTo(buffer);
        queue.Enqueue(new Entry(buffer, payload.Length, from));
        Bytes += cost;
        return true;
    }

    /// <summary>Copies the next datagram (truncated to the buffer) and removes it unless peeking.</summary>
    public bool TryDequeue(Span<byte> buffer, bool peek, out int copied, out int fullLength, out Endpoint from)
    {
        copied = fullLength = 0;
        from = default;
        if (!queue.TryPeek(out var e)) return false;
        fullLength = e.Length;
        copied = Math.Min(e.Length, buffer.Length);
        e.Buffer.AsSpan(0, copied).CopyTo(buffer);
        from = e.From;
        if (!peek)
        {
            queue.Dequeue();
            Bytes -= e.Length + Overhead;
            ArrayPool<byte>.Shared.Return(e.Buffer);
        }
        return true;
    }

    public void Clear()
    {
        while (queue.TryDequeue(out var e)) ArrayPool<byte>.Shared.Return(e.Buffer);
        Bytes = 0;
    }

    private readonly record struct Entry(byte[] Buffer, int Length, Endpoint From);
}
