using UserStack.Wire;

namespace UserStack.Diagnostics;

/// <summary>
/// The stack's counters: every <see cref="Counter"/> and every <see cref="DropReason"/>.
/// Plain arrays indexed by enum, so counting costs one increment.
/// </summary>
public sealed class Counters
{
    private readonly long[] counts = new long[Enum.GetValues<Counter>().Length];
    private readonly long[] drops = new long[Enum.GetValues<DropReason>().Length];

    public long this[Counter c] => counts[(int)c];
    public long this[DropReason r] => drops[(int)r];

    public void Increment(Counter c, long by = 1) => counts[(int)c] += by;
    public void Drop(DropReason r) => drops[(int)r]++;

    public long TotalDrops => drops.Sum();

    /// <summary>Every nonzero counter, then every nonzero drop reason, as (name, value).</summary>
    public IEnumerable<(string Name, long Value)> NonZero()
    {
        foreach (var c in Enum.GetValues<Counter>())
            if (counts[(int)c] != 0) yield return (c.ToString(), counts[(int)c]);
        if (TotalDrops != 0) yield return ("Drops", TotalDrops);
        foreach (var r in Enum.GetValues<DropReason>())
            if (r != DropReason.None && drops[(int)r] != 0) yield return ("Dropped." + r, drops[(int)r]);
    }

    public override string ToString() => string.Join(Environment.NewLine, NonZero().Select(p => $"{p.Name,-32} {p.Value}"));
}
