using System.Buffers;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// Segments that arrived beyond RCV.NXT, kept until the gap before them is filled (RFC 9293
/// 3.10.7.4, seventh step), and the SACK blocks that tell the sender about them: the block with
/// the newest segment first, then the most recently reported ones (RFC 2018 4), after a D-SACK
/// block for a duplicate, reported once (RFC 2883 4). Buffers are rented and returned.
/// </summary>
internal sealed class Reassembler(int maxSegments, MemoryBudget? budget = null)
{
    private readonly List<(SeqNumber Start, byte[] Data, int Length)> segments = new();
    private readonly List<SeqNumber> recent = new(); // a sequence number inside each reported block, newest first
    private SackBlock? duplicate;

    public int Count => segments.Count;
    /// <summary>Nothing stored, nothing to report: a new store would be the same.</summary>
    public bool IsPristine => segments.Count == 0 && recent.Count == 0 && duplicate is null;
    /// <summary>Bytes held for out-of-order segments (they never overlap).</summary>
    public long StoredBytes { get; private set; }
    /// <summary>The last refusal was the stack-wide budget's, not this connection's segment cap.</summary>
    public bool BudgetRefused { get; private set; }

    /// <summary>
    /// Keeps a copy of the new bytes of an out-of-order segment; false when the store is full (the
    /// segment is dropped). Stored segments never overlap, so they hold at most one window of data.
    /// </summary>
    public bool Store(SeqNumber start, ReadOnlySpan<byte> data)
    {
        BudgetRefused = false;
        var end = start + data.Length;
        if (Covers(start, end)) { ReportDuplicate(start, end); Touch(start); return true; }
        Touch(start);
        int i = 0;
        while (i < segments.Count && segments[i].Start <= start) i++;
        if (i > 0 && segments[i - 1].Start + segments[i - 1].Length is var before && before > start)
        {
            data = data[(before - start)..]; // what the segment before already holds
            start = before;
        }
        while (i < segments.Count && segments[i].Start < end)
        {
            var (nextStart, nextData, nextLength) = segments[i];
            if (nextStart + nextLength > end) { data = data[..(nextStart - start)]; break; } // it keeps its own bytes
            segments.RemoveAt(i); // wholly inside the new segment: replaced by it
            StoredBytes -= nextLength;
            budget?.Give(nextLength);
            ArrayPool<byte>.Shared.Return(nextData);
        }
        if (data.IsEmpty) return true;
        if (segments.Count >= maxSegments) return false;
        if (budget is not null && !budget.TryTake(data.Length)) { BudgetRefused = true; return false; }
        var copy = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(copy);
        segments.Insert(i, (start, copy, data.Length));
        StoredBytes += data.Length;
        return true;
    }

    /// <summary>Moves segments that now continue the stream at <paramref name="next"/> into the buffer, trimming overlaps.</summary>
    public void Drain(ref SeqNumber next, ByteRing buffer, bool discard)
    {
        while (segments.Count > 0 && segments[0].Start <= next)
        {
            var (start, data, length) = segments[0];
            segments.RemoveAt(0);
            StoredBytes -= length;
            budget?.Give(length);
            int skip = next - start;
            if (skip < length)
            {
                var fresh = data.AsSpan(skip, Math.Min(length - skip, discard ? int.MaxValue : buffer.Free));
                if (!discard) buffer.Write(fresh);
                next += fresh.Length;
            }
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    /// <summary>RFC 2883 4: a segment that brought nothing new is reported in the first block of the next ACK.</summary>
    public void ReportDuplicate(SeqNumber start, SeqNumber end) => duplicate = new SackBlock(start, end);

    /// <summary>The SACK blocks for the next ACK, at most <paramref name="max"/>; a D-SACK is reported once.</summary>
    public SackBlocks Blocks(SeqNumber receiveNext, int max)
    {
        var blocks = default(SackBlocks);
        if (max <= 0) return blocks;
        int first = 0; // a D-SACK block may be followed by the block that contains it (RFC 2883 4)
        if (duplicate is { } d) { blocks = blocks.With(d); duplicate = null; first = 1; }
        for (int i = 0; i < recent.Count && blocks.Count < max; i++)
        {
            if (RangeAround(recent[i]) is not { } range || range.Right <= receiveNext) { recent.RemoveAt(i--); continue; }
            bool seen = false;
            for (int j = first; j < blocks.Count; j++) seen |= blocks[j] == range;
            if (seen) { recent.RemoveAt(i--); continue; }
            blocks = blocks.With(range);
        }
        return blocks;
    }

    /// <summary>How many blocks <see cref="Blocks"/> would give now (at most <paramref name="max"/>), without consuming anything.</summary>
    public int BlockCount(SeqNumber receiveNext, int max)
    {
        int ranges = 0;
        SeqNumber? right = null;
        foreach (var (s, _, length) in segments)
        {
            var e = s + length;
            if (e <= receiveNext) continue;
            if (right is null || s > right.Value) { ranges++; right = e; }
            else if (e > right.Value) right = e;
        }
        return Math.Min(max, ranges + (duplicate is null ? 0 : 1));
    }

    public void Clear()
    {
        foreach (var s in segments) ArrayPool<byte>.Shared.Return(s.Data);
        budget?.Give(StoredBytes);
        segments.Clear();
        StoredBytes = 0;
        recent.Clear();
        duplicate = null;
    }

    private void Touch(SeqNumber sequence)
    {
        recent.Remove(sequence);
        recent.Insert(0, sequence);
        if (recent.Count > 2 * SackBlocks.Capacity) recent.RemoveAt(recent.Count - 1);
    }

    /// <summary>True if stored segments already hold every byte of [start, end).</summary>
    private bool Covers(SeqNumber start, SeqNumber end)
    {
        var reach = start;
        foreach (var (s, _, length) in segments)
        {
            if (s > reach) break;
            var e = s + length;
            if (e > reach) reach = e;
            if (reach >= end) return true;
        }
        return false;
    }

    /// <summary>The contiguous stored range that contains <paramref name="sequence"/>.</summary>
    private SackBlock? RangeAround(SeqNumber sequence)
    {
        SeqNumber? left = null;
        var right = default(SeqNumber);
        foreach (var (s, _, length) in segments)
        {
            var e = s + length;
            if (left is null || s > right) { if (left is not null && sequence < right && sequence >= left.Value) break; left = s; right = e; }
            else if (e > right) right = e;
        }
        return left is { } l && l <= sequence && sequence < right ? new SackBlock(l, right) : null;
    }
}
