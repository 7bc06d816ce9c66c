using System.Diagnostics;
using System.Globalization;
using UserStack.Tests.Packetdrill;

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
/// The differential mode (issue 7): every script runs on UserStack (ScriptRunner, virtual clock)
/// and on the Linux kernel (KernelScriptRunner, real time, a namespace of its own per script),
/// and every difference is classified (Classifier).
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
        double length = LastTime(text);
        if (length > maxSeconds)
            return new ScriptOutcome(name, $"needs {length:0} s of real time (limit {maxSeconds:0} s; --max-script-seconds raises it)", null, [], 0, "");

        // What UserStack does: the script itself, as long as it passes (it does in the test suite).
        string? userStackFailure = null;
        try { new ScriptRunner().Run(text); }
        catch (ScriptFailure f) { userStackFailure = f.Message.Split('\n')[0]; }

        var watch = Stopwatch.StartNew();
        using var scene = KernelScene.Start();
        var runner = new KernelScriptRunner(scene, name);
        scene.Namespace.RunInside(() => { runner.Run(text); return 0; });
        var differences = runner.Differences.ToList();
        foreach (var d in differences) d.Verdict = Classifier.Classify(d);
        return new ScriptOutcome(name, null, userStackFailure, differences, watch.Elapsed.TotalSeconds, runner.Log);
    }

    /// <summary>The time of a script's last line, in seconds from its start.</summary>
    public static double LastTime(string text)
    {
        double time = 0, latest = 0;
        foreach (var e in ScriptParser.Parse(text))
        {
            if (e.Time.Any) continue;
            time = e.Time.Relative ? time + e.Time.Seconds : e.Time.Seconds;
            latest = Math.Max(latest, time);
        }
        return latest;
    }

    internal static string Seconds(double s) => s.ToString("0.0", CultureInfo.InvariantCulture);
}
