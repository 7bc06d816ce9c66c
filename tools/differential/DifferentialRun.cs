using System.Diagnostics;
using System.Globalization;
using UserStack.Drill;
using UserStack.Drill.Language;

namespace UserStack.Differential;

/// <summary>Settings of one differential run.</summary>
public sealed record DifferentialOptions
{
    /// <summary>Folder of *.pkt scripts; by default the copy next to this program (Tests/Packetdrill/Scripts).</summary>
    public string ScriptFolder { get; init; } = Path.Combine(AppContext.BaseDirectory, "Scripts");
    /// <summary>Script names (without .pkt) to run; empty runs them all.</summary>
    public IReadOnlyList<string> Only { get; init; } = [];
    /// <summary>Scripts whose last line is later than this (seconds of real time) are skipped, with that reason.</summary>
    public double MaxScriptSeconds { get; init; } = 65;
    public TextWriter? Progress { get; init; }
}

/// <summary>
/// The differential mode (issue 7): every script runs on UserStack (DrillRunner, through the real
/// socket API on a virtual clock) and on the Linux kernel (KernelScriptRunner, real time, a
/// namespace of its own per script), both with packetdrill's meaning of the script
/// (UserStack.Drill's parser and TcpNumbering), and every difference is classified (Classifier).
/// </summary>
public static class DifferentialRun
{
    /// <summary>Why this machine cannot run it (no root, no /dev/net/tun, no ip), or null.</summary>
    public static string? Unavailable() => KernelScene.Unavailable();

    public static IReadOnlyList<ScriptOutcome> Run(DifferentialOptions options)
    {
        if (Unavailable() is { } why) throw new InvalidOperationException($"the differential mode needs root, /dev/net/tun and iproute2: {why}");
        var files = Directory.GetFiles(options.ScriptFolder, "*.pkt").Order(StringComparer.Ordinal)
            .Where(f => options.Only.Count == 0 || options.Only.Contains(Path.GetFileNameWithoutExtension(f)))
            .ToList();
        if (files.Count == 0) throw new InvalidOperationException($"no scripts to run in {options.ScriptFolder}");
        var outcomes = new List<ScriptOutcome>();
        foreach (var file in files)
        {
            var outcome = RunOne(file, options.MaxScriptSeconds);
            outcomes.Add(outcome);
            options.Progress?.WriteLine(outcome.Skipped is { } s
                ? $"skip {outcome.Script}: {s}"
                : $"{outcome.Differences.Count,3} differences  {outcome.Seconds,5:0.0} s  {outcome.Script}{(outcome.UserStackFailure is null ? "" : "  (fails on UserStack too)")}");
        }
        return outcomes;
    }

    public static ScriptOutcome RunOne(string file, double maxSeconds)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        var text = File.ReadAllText(file);
        Script parsed;
        try
        {
            parsed = Parser.Parse(text);
            KernelScriptRunner.Configure(parsed);
        }
        catch (Exception e) when (e is ScriptSyntaxException or NotSupportedException)
        {
            return new ScriptOutcome(name, $"cannot be played against the kernel: {e.Message}", null, [], 0, "");
        }
        double length = LastTime(parsed);
        if (length > maxSeconds)
            return new ScriptOutcome(name, $"needs {length:0} s of real time (limit {maxSeconds:0} s; --max-script-seconds raises it)", null, [], 0, "");

        // What UserStack does: the script itself through DrillRunner, as long as it passes (it does in the test suite).
        var drill = DrillRun.RunFile(file);
        string? userStackFailure = drill.Verdict == UserStack.Drill.Verdict.Pass ? null : $"{drill.Verdict}: {drill.Message}";

        var watch = Stopwatch.StartNew();
        using var scene = KernelScene.Start();
        var runner = new KernelScriptRunner(scene, name);
        string? unsupported = null;
        scene.Namespace.RunInside(() =>
        {
            try { runner.Run(text); }
            catch (Exception e) when (e is NotSupportedException or DrillUnsupported) { unsupported = e.Message; }
            return 0;
        });
        if (unsupported is not null)
            return new ScriptOutcome(name, $"cannot be played against the kernel: {unsupported}", userStackFailure, [], watch.Elapsed.TotalSeconds, runner.Log);
        var differences = runner.Differences.ToList();
        foreach (var d in differences) d.Verdict = Classifier.Classify(d);
        return new ScriptOutcome(name, null, userStackFailure, differences, watch.Elapsed.TotalSeconds, runner.Log);
    }

    /// <summary>
    /// The script time of a script's last line, in seconds from its start (relative times added up
    /// as written; the real run re-anchors them on when events happened, which is about as long).
    /// </summary>
    public static double LastTime(Script script)
    {
        double time = 0, latest = 0;
        foreach (var e in script.Events)
        {
            if (e.Time.Kind == TimeKind.Any) continue;
            bool range = e.Time.Kind is TimeKind.AbsoluteRange or TimeKind.RelativeRange;
            time = (e.Time.IsRelative ? time : 0) + (range ? e.Time.End : e.Time.Start) / 1e6;
            latest = Math.Max(latest, time);
        }
        return latest;
    }

    public static double LastTime(string text) => LastTime(Parser.Parse(text));

    internal static string Seconds(double s) => s.ToString("0.0", CultureInfo.InvariantCulture);
}
