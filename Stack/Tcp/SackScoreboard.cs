using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// The sender's record of what the peer reported with SACK blocks (RFC 2018, RFC 6675 2): sorted,
/// disjoint ranges above SND.UNA. Blocks at or below SND.UNA are D-SACKs (RFC 2883) and are skipped.
/// </summary>
public sealed class SackScoreboard
{
    /// <summary>RFC 6675 2: DupThresh, the duplicate ACKs (or SACKed segments) that signal a loss.</summary>
    public const int DuplicateThreshold = 3;

    /// <summary>A bound on the ranges kept: a hostile peer SACKing every other byte cannot make each ACK cost O(window).</summary>
    public const int MaxRanges = 256;

    private readonly List<SackBlock> ranges = new();

    public int Count => ranges.Count;
    public int SackedBytes { get; private set; }
    public SackBlock this[int i] => ranges[i];
    /// <summary>HighACK's counterpart: the highest sequence number SACKed, if any.</summary>
    public SeqNumber? HighestSacked => ranges.Count > 0 ? ranges[^1].Right : null;

    /// <summary>Adds the blocks of one ACK; returns true if any byte is newly SACKed.</summary>
    public bool Add(in SackBlocks blocks, SeqNumber unacknowledged, SeqNumber highData)
    {
        int before = SackedBytes;
        for (int i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            if (b.Right <= b.Left) continue;
            if (b.Right <= unacknowledged) continue; // a D-SACK (RFC 2883): nothing to record
            var left = b.Left < unacknowledged ? unacknowledged : b.Left;
            var right = b.Right > highData ? highData : b.Right;
            if (right > left) Insert(new SackBlock(left, right));
        }
        return SackedBytes > before;
    }

    private void Insert(SackBlock block)
    {
        int i = 0;
        while (i < ranges.Count && ranges[i].Right < block.Left) i++;
        bool merges = i < ranges.Count && ranges[i].Left <= block.Right;
        if (!merges && ranges.Count >= MaxRanges) return; // forgetting a SACK only costs a needless resend
        var left = block.Left;
        var right = block.Right;
        while (i < ranges.Count && ranges[i].Left <= right)
        {
            if (ranges[i].Left < left) left = ranges[i].Left;
            if (ranges[i].Right > right) right = ranges[i].Right;
            SackedBytes -= ranges[i].Right - ranges[i].Left;
            ranges.RemoveAt(i);
        }
        ranges.Insert(i, new SackBlock(left, right));
        SackedBytes += right - left;
    }

    /// <summary>SND.UNA moved: what it covers needs no record.</summary>
    public void AdvanceTo(SeqNumber unacknowledged)
    {
        while (ranges.Count > 0 && ranges[0].Left < unacknowledged)
        {
            var r = ranges[0];
            SackedBytes -= r.Right - r.Left;
            ranges.RemoveAt(0);
            if (r.Right > unacknowledged)
            {
                ranges.Insert(0, new SackBlock(unacknowledged, r.Right));
                SackedBytes += r.Right - unacknowledged;
                return;
            }
        }
    }

    /// <summary>RFC 2018 8: after a retransmission timeout the SACKed bits are forgotten (the peer may renege).</summary>
    public void Clear()
    {
        ranges.Clear();
        SackedBytes = 0;
    }

    public bool IsSacked(SeqNumber sequence)
    {
        foreach (var r in ranges)
        {
            if (sequence < r.Left) return false;
            if (sequence < r.Right) return true;
        }
        return false;
    }

    /// <summary>The first SACKed range that starts after <paramref name="sequence"/>, if any.</summary>
    public SeqNumber? NextSackedAfter(SeqNumber sequence)
    {
        foreach (var r in ranges) if (r.Left > sequence) return r.Left;
        return null;
    }

    /// <summary>Where a range containing <paramref name="sequence"/> ends, or the sequence itself if it is not SACKed.</summary>
    public SeqNumber SkipSacked(SeqNumber sequence)
    {
        foreach (var r in ranges)
            if (r.Left <= sequence && sequence < r.Right) return r.Right;
        return sequence;
    }

    /// <summary>
    /// RFC 6675 4, IsLost: a hole is lost when DupThresh SACKed ranges or more than
    /// (DupThresh - 1) * SMSS SACKed bytes lie above it. Both grow towards SND.UNA, so the lost
    /// holes are exactly those below the returned point.
    /// </summary>
    public SeqNumber LostBelow(SeqNumber unacknowledged, int mss)
    {
        int bytes = 0;
        for (int i = ranges.Count - 1; i >= 0; i--)
        {
            bytes += ranges[i].Right - ranges[i].Left;
            if (ranges.Count - i >= DuplicateThreshold || bytes > (DuplicateThreshold - 1) * mss) return ranges[i].Left;
        }
        return unacknowledged;
    }

    /// <summary>Bytes between <paramref name="from"/> and <paramref name="to"/> that are not SACKed.</summary>
    public int UnsackedBytes(SeqNumber from, SeqNumber to)
    {
        if (to <= from) return 0;
        int total = to - from;
        foreach (var r in ranges)
        {
            var left = r.Left < from ? from : r.Left;
            var right = r.Right > to ? to : r.Right;
            if (right > left) total -= right - left;
        }
        return total;
    }

    public override string ToString() => string.Join(" ", ranges.Select(r => $"{r.Left.Value}:{r.Right.Value}"));
}
