using System.Text;
using UserStack.Tcp;

namespace UserStack.Fuzz;

/// <summary>Counts of every (state, event) pair reached, and the table of them against <see cref="RfcTransitions"/>.</summary>
public sealed class TransitionMap
{
    private readonly long[,] counts = new long[Enum.GetValues<TcpState>().Length, Enum.GetValues<TcpEvent>().Length];

    public void Record(TcpState state, TcpEvent e) => counts[(int)state, (int)e]++;

    public long Count(TcpState state, TcpEvent e) => counts[(int)state, (int)e];

    public int ReachedDefined => RfcTransitions.Defined.Count(p => Count(p.Item1, p.Item2) > 0);
    public static int DefinedCount => RfcTransitions.Defined.Count;

    /// <summary>The defined pairs reached here and not in <paramref name="other"/>.</summary>
    public int NewAgainst(TransitionMap other) =>
        RfcTransitions.Defined.Count(p => Count(p.Item1, p.Item2) > 0 && other.Count(p.Item1, p.Item2) == 0);

    public void Add(TransitionMap other)
    {
        for (int s = 0; s < counts.GetLength(0); s++)
            for (int e = 0; e < counts.GetLength(1); e++) counts[s, e] += other.counts[s, e];
    }

    public IEnumerable<(TcpState State, TcpEvent Event)> Missing =>
        RfcTransitions.Defined.Where(p => Count(p.Item1, p.Item2) == 0).OrderBy(p => p.Item1).ThenBy(p => p.Item2);

    /// <summary>
    /// One row per state, one column per event: how often it was reached ("." a defined pair not
    /// reached, blank a pair RFC 9293 does not define; starred columns are extra timers).
    /// </summary>
    public string Table()
    {
        var events = Enum.GetValues<TcpEvent>();
        var sb = new StringBuilder();
        sb.Append($"{"state",-12}");
        foreach (var e in events) sb.Append($" {e.Label() + (e >= TcpEvent.TimerFinWait2 ? "*" : ""),9}");
        sb.AppendLine();
        foreach (var s in Enum.GetValues<TcpState>())
        {
            sb.Append($"{s,-12}");
            foreach (var e in events)
            {
                long n = Count(s, e);
                bool defined = RfcTransitions.Defined.Contains((s, e));
                sb.Append($" {(n > 0 ? Short(n) : defined ? "." : ""),9}");
            }
            sb.AppendLine();
        }
        sb.Append($"transitions {ReachedDefined}/{DefinedCount} of RFC 9293 3.10");
        var missing = Missing.ToList();
        if (missing.Count > 0) sb.Append("; missing: " + string.Join(", ", missing.Select(p => $"{p.State}/{p.Event.Label()}")));
        return sb.ToString();
    }

    private static string Short(long n) => n < 100_000 ? n.ToString() : n < 100_000_000 ? $"{n / 1000}k" : $"{n / 1_000_000}M";
}
