namespace UserStack.Ip.Reassembly;

/// <summary>How a fragment's bytes relate to what already arrived.</summary>
public enum FragmentFit : byte
{
    /// <summary>All its bytes fall in one hole: new data.</summary>
    New,
    /// <summary>All its bytes arrived before (Linux's IPFRAG_DUP): the fragment alone is dropped.</summary>
    Duplicate,
    /// <summary>It covers received bytes and missing ones, or several holes (Linux's IPFRAG_OVERLAP).</summary>
    Overlap,
}

/// <summary>
/// RFC 815's hole descriptor list: the byte ranges of a datagram still missing, in order. It starts
/// as one hole from 0 to "infinity"; each fragment splits the hole it falls in into at most two.
/// The datagram is complete when no hole is left.
/// </summary>
public sealed class FragmentHoles
{
    /// <summary>RFC 815: the end of the last hole until the last fragment tells the length.</summary>
    public const int Infinity = int.MaxValue;

    private readonly List<(int First, int End)> holes = new() { (0, Infinity) };

    public int Count => holes.Count;
    public bool IsComplete => holes.Count == 0;
    public IReadOnlyList<(int First, int End)> Holes => holes;

    /// <summary>Back to one hole from 0 to infinity (a reused datagram record).</summary>
    internal void Reset()
    {
        holes.Clear();
        holes.Add((0, Infinity));
    }

    /// <summary>Where the bytes [first, end) fall: in one hole, in none, or across data and holes.</summary>
    public FragmentFit Classify(int first, int end)
    {
        int touching = 0;
        bool inside = false;
        foreach (var (holeFirst, holeEnd) in holes)
        {
            if (holeFirst >= end) break;
            if (holeEnd <= first) continue;
            touching++;
            inside = holeFirst <= first && end <= holeEnd;
        }
        return touching == 0 ? FragmentFit.Duplicate : touching == 1 && inside ? FragmentFit.New : FragmentFit.Overlap;
    }

    /// <summary>
    /// RFC 815 steps 1-8 for a fragment that <see cref="Classify"/> found <see cref="FragmentFit.New"/>:
    /// the hole it falls in is replaced by what is left on either side. The last fragment
    /// (<paramref name="last"/>, More Fragments clear) leaves no hole after it (step 7).
    /// </summary>
    public void Fill(int first, int end, bool last)
    {
        for (int i = 0; i < holes.Count; i++)
        {
            var (holeFirst, holeEnd) = holes[i];
            if (holeFirst > first || end > holeEnd) continue;
            holes.RemoveAt(i);
            if (!last && end < holeEnd) holes.Insert(i, (end, holeEnd));
            if (first > holeFirst) holes.Insert(i, (holeFirst, first));
            return;
        }
        throw new InvalidOperationException($"bytes {first}-{end} fall in no single hole");
    }
}
