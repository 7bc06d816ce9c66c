namespace UserStack.Tcp;

/// <summary>A fixed-capacity circular byte buffer: the send and receive buffers of a connection.</summary>
public sealed class ByteRing(int capacity)
{
    private readonly byte[] buffer = new byte[capacity];
    private int start;

    public int Capacity => buffer.Length;
    public int Count { get; private set; }
    public int Free => buffer.Length - Count;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns how much.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        int tail = (start + Count) % buffer.Length;
        int first = Math.Min(n, buffer.Length - tail);
        data[..first].CopyTo(buffer.AsSpan(tail));
        data[first..n].CopyTo(buffer);
        Count += n;
        return n;
    }

    /// <summary>Copies bytes starting <paramref name="offset"/> past the head, without removing them.</summary>
    public int Peek(int offset, Span<byte> destination)
    {
        int n = Math.Min(destination.Length, Count - offset);
        if (n <= 0) return 0;
        int from = (start + offset) % buffer.Length;
        int first = Math.Min(n, buffer.Length - from);
        buffer.AsSpan(from, first).CopyTo(destination);
        buffer.AsSpan(0, n - first).CopyTo(destination[first..]);
        return n;
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
        start = (start + n) % buffer.Length;
        Count -= n;
        if (Count == 0) start = 0;
    }
}
