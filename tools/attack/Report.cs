using System.Globalization;
using System.Text;

namespace UserStack.Attack;

internal sealed record PhaseResult(string Name, double Seconds, double RssBefore, double RssAfter, double WorstEchoMs, long BulkBytes,
    List<(double At, string? Failure, double Ms)> Probes, string? AfterFailure, double AfterMs, List<(string Reason, long Count)> Drops, long CookiesSent,
    long FramesReceived, long TapDropped)
{
    /// <summary>Why the fragmented pings after the attack failed; null when all were answered.</summary>
    public string? PingAfterFailure { get; init; }
    /// <summary>Reassembly memory held when the attack ended, and its cap (-1 when the stack did not say).</summary>
    public long ReassemblyMemory { get; init; } = -1;
    public long ReassemblyMemoryCap { get; init; } = -1;

    /// <summary>
    /// The live session never waited more than 1 s; every new connection, during and after, worked within
    /// 1 s; fragmented pings were answered after it.
    /// </summary>
    public bool Passed => WorstEchoMs <= 1000 && Probes.All(p => p.Failure is null) && AfterFailure is null && PingAfterFailure is null;

    public string Line()
    {
        var during = Probes.Count == 0 ? "none" : $"{Probes.Count(p => p.Failure is null)}/{Probes.Count} ok, worst {Worst(Probes.Select(p => p.Ms))}";
        var failures = Probes.Where(p => p.Failure is not null).Select(p => $"at {p.At:0.0}s: {p.Failure}").ToList();
        if (AfterFailure is not null) failures.Add($"after: {AfterFailure}");
        if (PingAfterFailure is not null) failures.Add(PingAfterFailure);
        var sb = new StringBuilder();
        sb.Append(Inv($"{Name,-15} {Seconds,5:0.0} s  rss {RssBefore,6:0.0} -> {RssAfter,6:0.0} MiB  worst echo {Ms(WorstEchoMs),8}  bulk {BulkBytes / 1048576.0,7:0.0} MiB  "));
        sb.Append($"new conns during: {during}; after: {(AfterFailure is null ? Ms(AfterMs) : "FAILED")}  {(Passed ? "ok" : "FAILED")}");
        sb.Append(Inv($"\n    frames the stack read: {FramesReceived} ({FramesReceived / Math.Max(Seconds, 0.001):0}/s); dropped by the kernel at the full TAP queue: {TapDropped}"));
        if (CookiesSent > 0) sb.Append(Inv($"; syn cookies sent: {CookiesSent}"));
        if (ReassemblyMemory >= 0) sb.Append(Inv($"; reassembly memory after: {ReassemblyMemory / 1024.0:0.0} KiB"));
        sb.Append(PingAfterFailure is null ? "; ping -s 4000 after: ok" : "");
        foreach (var f in failures) sb.Append($"\n    {f}");
        if (Drops.Count > 0) sb.Append("\n    drops: " + string.Join(", ", Drops.Select(d => $"{d.Reason} {d.Count}")));
        return sb.ToString();
    }

    private static string Worst(IEnumerable<double> ms) => ms.Where(m => !double.IsNaN(m)).DefaultIfEmpty(double.NaN).Max() is var w && double.IsNaN(w) ? "-" : Ms(w);
    internal static string Ms(double ms) => double.IsPositiveInfinity(ms) ? "stalled" : double.IsNaN(ms) ? "-" : Inv($"{ms:0.0} ms");
    internal static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

internal sealed class Report(double rssStart)
{
    private readonly List<PhaseResult> results = new();

    public void Add(PhaseResult r) => results.Add(r);

    public static List<(string, long)> Drops(Dictionary<string, long> before, Dictionary<string, long> after) =>
        after.Where(p => p.Key.StartsWith("Dropped.")).Select(p => (p.Key["Dropped.".Length..], p.Value - before.GetValueOrDefault(p.Key)))
            .Where(p => p.Item2 > 0).OrderByDescending(p => p.Item2).ToList();

    public static long Delta(Dictionary<string, long> before, Dictionary<string, long> after, string name) =>
        after.GetValueOrDefault(name) - before.GetValueOrDefault(name);

    public void Print(double rssEnd, string? echoFailure)
    {
        Console.WriteLine(PhaseResult.Inv($"summary: rss {rssStart:0.0} MiB at the start, {rssEnd:0.0} MiB at the end ({rssEnd - rssStart:+0.0;-0.0} MiB)"));
        if (results.FirstOrDefault(r => r.Name == "syn-flood") is { } syn)
        {
            bool echoOk = syn.WorstEchoMs <= 200, rssOk = syn.RssAfter - rssStart < 32;
            Console.WriteLine(PhaseResult.Inv($"syn flood acceptance (issue 10): worst echo {PhaseResult.Ms(syn.WorstEchoMs)} (<= 200 ms: {(echoOk ? "yes" : "no")}), ") +
                              PhaseResult.Inv($"rss growth {syn.RssAfter - rssStart:0.0} MiB (< 32: {(rssOk ? "yes" : "no")}), new connections within 1 s: {(syn.Probes.All(p => p.Failure is null) && syn.AfterFailure is null ? "yes" : "no")}"));
        }
        if (results.FirstOrDefault(r => r.Name == "fragment-flood") is { } frag)
        {
            bool capOk = frag.ReassemblyMemory >= 0 && frag.ReassemblyMemory <= frag.ReassemblyMemoryCap;
            Console.WriteLine(PhaseResult.Inv($"fragment flood acceptance (issue 10): {frag.Seconds:0.0} s, reassembly memory after {frag.ReassemblyMemory / 1024.0:0.0} KiB ") +
                              PhaseResult.Inv($"(cap {frag.ReassemblyMemoryCap / 1048576.0:0} MiB: {(capOk ? "under" : "OVER")}), rss {frag.RssBefore:0.0} -> {frag.RssAfter:0.0} MiB, ") +
                              $"fragmented pings after: {(frag.PingAfterFailure is null ? "answered" : "FAILED")}");
        }
        if (echoFailure is not null) Console.WriteLine($"the live echo session failed: {echoFailure}");
    }
}
