using System.Globalization;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>
/// One row of the speed table: what was measured, its value, the reference it is compared with,
/// the ratio, the goal of issue 12 for that ratio (if any) and whether this run met it.
/// </summary>
public sealed record SpeedRow(string Name, string Value, string Reference = "", string Ratio = "", string Goal = "", string Verdict = "", string Note = "")
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>A row whose measurement failed or could not run: the reason takes the value's place.</summary>
    public static SpeedRow NotMeasured(string name, string why, string goal = "") => new(name, $"not measured: {why}", Goal: goal);

    /// <summary>A value compared with a reference: ratio = value / reference, checked against a minimum or maximum ratio.</summary>
    public static SpeedRow Compared(string name, double value, string unit, string format, double reference, string referenceName,
        double? atLeast = null, double? atMost = null, string note = "")
    {
        double ratio = reference > 0 ? value / reference : double.NaN;
        string goal = atLeast is { } min ? $">= {min.ToString("0.0#", Invariant)}x" : atMost is { } max ? $"<= {max.ToString("0.0#", Invariant)}x" : "";
        string verdict = double.IsNaN(ratio) || goal.Length == 0 ? "" : (atLeast is { } lo ? ratio >= lo : ratio <= atMost!.Value) ? "met" : "missed";
        return new SpeedRow(name, $"{value.ToString(format, Invariant)} {unit}", $"{reference.ToString(format, Invariant)} {unit} ({referenceName})",
            double.IsNaN(ratio) ? "" : $"{ratio.ToString("0.00", Invariant)}x", goal, verdict, note);
    }

    /// <summary>A value against an absolute goal (in-memory Gbit/s, bytes per segment).</summary>
    public static SpeedRow Absolute(string name, double value, string unit, string format, double? atLeast = null, double? atMost = null, string note = "")
    {
        string goal = atLeast is { } min ? $">= {min.ToString(format, Invariant)} {unit}" : atMost is { } max ? $"<= {max.ToString(format, Invariant)} {unit}" : "";
        string verdict = goal.Length == 0 ? "" : (atLeast is { } lo ? value >= lo : value <= atMost!.Value) ? "met" : "missed";
        return new SpeedRow(name, $"{value.ToString(format, Invariant)} {unit}", Goal: goal, Verdict: verdict, Note: note);
    }

    public static void Print(TextWriter output, IReadOnlyList<SpeedRow> rows)
    {
        string[] head = ["measurement", "value", "reference", "ratio", "goal", "", "note"];
        var cells = rows.Select(r => new[] { r.Name, r.Value, r.Reference, r.Ratio, r.Goal, r.Verdict, r.Note }).ToList();
        var widths = head.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();
        string Line(string[] c) => "| " + string.Join(" | ", c.Select((s, i) => i is 1 or 3 ? s.PadLeft(widths[i]) : s.PadRight(widths[i]))) + " |";
        output.WriteLine(Line(head));
        output.WriteLine("|" + string.Join("|", widths.Select((w, i) => i is 1 or 3 ? new string('-', w + 1) + ":" : new string('-', w + 2))) + "|");
        foreach (var c in cells) output.WriteLine(Line(c));
    }
}
