using System.Buffers;

namespace UserStack.Tcp;

/// <summary>
/// A fixed-capacity circular byte buffer: the send and receive buffers of a connection. Its
/// storage is rented on the first write and returned by <see cref="Release"/>, so that a listener,
/// a half-open connection or one in TIME-WAIT holds no buffer memory (a SYN flood costs
/// connections, not megabytes).
/// </summary>
public sealed class ByteRing(int capacity)
{
    private byte[]? buffer;
    private int start;

    public int Capacity { get; private set; } = capacity;
    public int Count { get; private set; }
    public int Free => Capacity - Count;
    /// <summary>Whether storage is rented now (for tests and memory accounting).</summary>
    public bool HoldsMemory => buffer is not null;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns how much.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        if (n == 0) return 0;
        buffer ??= ArrayPool<byte>.Shared.Rent(Capacity);
        int tail = (start + Count) % Capacity;
        int first = Math.Min(n, Capacity - tail);
        data[..first].CopyTo(buffer.AsSpan(tail));
        data[first..n].CopyTo(buffer);
        Count += n;
        return n;
    }

    /// <summary>Copies bytes starting <paramref name="offset"/> past the head, without removing them.</summary>
    public int Peek(int offset, Span<byte> destination)
    {
        int n = Math.Min(destination.Length, Count - offset);
        if (n <= 0 || buffer is null) return 0;
        int from = (start + offset) % Capacity;
        int first = Math.Min(n, Capacity - from);
        buffer.AsSpan(from, first).CopyTo(destination);
        buffer.AsSpan(0, n - first).CopyTo(destination[first..]);
        return n;
    }

    /// <summary>
    /// The bytes held, in place, as up to two pieces of the storage (the second when they wrap).
    /// Valid until they are discarded: writes only touch the free part of the ring.
    /// </summary>
    public int GetReadable(out ReadOnlyMemory<byte> first, out ReadOnlyMemory<byte> second)
    {
        first = second = ReadOnlyMemory<byte>.Empty;
        if (Count == 0 || buffer is null) return 0;
        int n = Math.Min(Count, Capacity - start);
        first = buffer.AsMemory(start, n);
        if (n < Count) second = buffer.AsMemory(0, Count - n);
        return Count;
    }

    public int Read(Span<byte> destination)
    {
        int n = Peek(0, destination);
        Discard(n);
        return n;
    }

    public void Discard(int n)
    {
        n = Math.Min(n, Count);
        if (n <= 0) return;
        start = (start + n) % Capacity;
        Count -= n;
        if (Count == 0) start = 0;
    }

    /// <summary>
    /// Changes the capacity of a ring that holds nothing and has no storage (SO_RCVBUF and
    /// SO_SNDBUF before a connection starts); false otherwise.
    /// </summary>
    public bool TryResize(int capacity)
    {
        if (capacity < 1 || Count > 0 || buffer is not null) return false;
        Capacity = capacity;
        return true;
    }

    /// <summary>Empties the ring and returns its storage to the pool (the connection is closed).</summary>
    public void Release()
    {
        Count = 0;
        start = 0;
        if (buffer is null) return;
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = null;
    }
}
