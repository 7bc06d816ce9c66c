using System.Text;

namespace UserStack.Differential;

/// <summary>The table of differences: plain text for the terminal, Markdown for docs/differential.md.</summary>
public static class Report
{
    public static string Text(IReadOnlyList<ScriptOutcome> outcomes)
    {
        var sb = new StringBuilder();
        foreach (var o in outcomes.Where(o => o.Skipped is null))
            foreach (var d in o.Differences)
            {
                sb.AppendLine($"{d.Script}:{d.Line}  [{d.Verdict.ClassName}]  {d.Aspect}: {d.Detail}");
                sb.AppendLine($"    UserStack (the script): {d.UserStack}");
                sb.AppendLine($"    Linux:                  {d.Linux}");
                sb.AppendLine($"    why ({d.Verdict.Key}): {d.Verdict.Reason}");
            }
        foreach (var o in outcomes.Where(o => o.Skipped is not null)) sb.AppendLine($"skipped {o.Script}: {o.Skipped}");
        sb.AppendLine(Summary(outcomes));
        return sb.ToString();
    }

    public static string Summary(IReadOnlyList<ScriptOutcome> outcomes)
    {
        var all = outcomes.SelectMany(o => o.Differences).ToList();
        int run = outcomes.Count(o => o.Skipped is null), skipped = outcomes.Count - run;
        int same = outcomes.Count(o => o.Skipped is null && o.Differences.Count == 0);
        string Count(DifferenceClass c) => all.Count(d => d.Verdict.Class == c).ToString();
        return $"{run} scripts run ({same} identical), {skipped} skipped; {all.Count} differences: " +
               $"{Count(DifferenceClass.OurBug)} our bug, {Count(DifferenceClass.LinuxPolicy)} Linux policy, " +
               $"{Count(DifferenceClass.LinuxDeviation)} Linux deviation, {Count(DifferenceClass.Unclassified)} unclassified";
    }

    public static string Markdown(IReadOnlyList<ScriptOutcome> outcomes)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| script | line | aspect | UserStack (the script) | Linux | difference | class | why |");
        sb.AppendLine("|--------|-----:|--------|------------------------|-------|------------|-------|-----|");
        foreach (var o in outcomes.Where(o => o.Skipped is null))
            foreach (var d in o.Differences)
                sb.AppendLine($"| {Cell(d.Script)} | {d.Line} | {d.Aspect} | `{Cell(d.UserStack)}` | `{Cell(d.Linux)}` | {Cell(d.Detail)} | {d.Verdict.ClassName} | [{d.Verdict.Key}](#{d.Verdict.Key}) |");
        sb.AppendLine();
        foreach (var v in outcomes.SelectMany(o => o.Differences).Select(d => d.Verdict).DistinctBy(v => v.Key).OrderBy(v => v.Class).ThenBy(v => v.Key, StringComparer.Ordinal))
            sb.AppendLine($"- <a id=\"{v.Key}\"></a>**{v.Key}** ({v.ClassName}): {v.Reason}");
        sb.AppendLine();
        sb.AppendLine("| script | outcome |");
        sb.AppendLine("|--------|---------|");
        foreach (var o in outcomes)
            sb.AppendLine($"| {Cell(o.Script)} | {(o.Skipped is { } s ? "skipped: " + Cell(s) : o.Differences.Count == 0 ? "same as UserStack" : $"{o.Differences.Count} difference(s)")}{(o.UserStackFailure is null ? "" : " (fails on UserStack: " + Cell(o.UserStackFailure) + ")")} |");
        sb.AppendLine();
        sb.AppendLine(Summary(outcomes));
        return sb.ToString();
    }

    private static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");
}
