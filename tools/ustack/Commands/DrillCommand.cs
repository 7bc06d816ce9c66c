using System.CommandLine;
using UserStack.Drill;
using UserStack.Drill.Language;

namespace UserStack.Tools.Commands;

/// <summary>`ustack drill`: packetdrill scripts against UserStack on a virtual clock, one line per script.</summary>
public static class DrillCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "script files (.pkt) or directories searched for them", Arity = ArgumentArity.OneOrMore };
        var syntaxOnly = new Option<bool>("--syntax-only") { Description = "only parse the scripts (no run): reports what packetdrill's grammar rejects" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "print each script's event log and warnings, with the stack's trace (frames in tcpdump form, state changes, timers, drops)" };
        var define = new Option<string[]>("--define", "-D") { Description = "NAME or NAME=VALUE, as packetdrill's -D (also for #ifdef NAME in FreeBSD's scripts)", AllowMultipleArgumentsPerToken = false };
        var tolerance = new Option<int?>("--tolerance-usecs") { Description = "timing tolerance in microseconds, overriding the scripts' --tolerance_usecs" };
        var relax = new Option<string[]>("--relax") { Description = $"look past named policy differences to test what follows ({string.Join(", ", DrillSettings.Relaxable)}); such a run is not a packetdrill pass" };
        var command = new Command("drill", "Run packetdrill scripts against UserStack on a virtual clock, as packetdrill runs them against a kernel") { paths, syntaxOnly, verbose, define, tolerance, relax };
        command.SetAction(result =>
        {
            var files = new List<string>();
            foreach (var p in result.GetValue(paths)!)
            {
                if (Directory.Exists(p)) files.AddRange(Directory.EnumerateFiles(p, "*.pkt", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
                else if (File.Exists(p)) files.Add(p);
                else { Console.Error.WriteLine($"ustack drill: no such file or directory: {p}"); return 2; }
            }
            var defines = new Dictionary<string, string>();
            foreach (var d in result.GetValue(define) ?? [])
            {
                int eq = d.IndexOf('=');
                if (eq == 0) { Console.Error.WriteLine($"ustack drill: bad --define '{d}' (expected NAME or NAME=VALUE)"); return 2; }
                if (eq < 0) defines[d] = ""; else defines[d[..eq]] = d[(eq + 1)..];
            }
            var relaxed = (result.GetValue(relax) ?? []).SelectMany(r => r.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToHashSet();
            if (relaxed.FirstOrDefault(r => !DrillSettings.Relaxable.Contains(r)) is { } unknown)
            {
                Console.Error.WriteLine($"ustack drill: --relax {unknown}: expected one of {string.Join(", ", DrillSettings.Relaxable)}");
                return 2;
            }
            var settings = new DrillSettings
            {
                Relax = relaxed,
                Defines = defines,
                Tolerance = result.GetValue(tolerance) is int us ? TimeSpan.FromTicks(us * TimeSpan.TicksPerMicrosecond) : null,
                Trace = result.GetValue(verbose),
            };
            return Run(files, settings, result.GetValue(syntaxOnly), result.GetValue(verbose), Console.Out);
        });
        return command;
    }

    public static int Run(IReadOnlyList<string> files, DrillSettings settings, bool syntaxOnly, bool verbose, TextWriter output)
    {
        int passed = 0, failed = 0, unsupported = 0;
        foreach (var file in files)
        {
            Outcome outcome;
            try { outcome = syntaxOnly ? SyntaxCheck(file, settings) : DrillRun.RunFile(file, settings); }
            catch (Exception e) { outcome = new Outcome(Verdict.Fail, $"internal error (a bug in the runner or the stack): {e.GetType().Name}: {e.Message}", [], e.ToString()); }
            output.WriteLine($"{outcome.Verdict.ToString().ToUpperInvariant(),-11} {file}{(outcome.Message is { } m ? ": " + m : "")}");
            if (verbose)
            {
                foreach (var w in outcome.Warnings) output.WriteLine($"    warning: {w}");
                if (outcome.Log.Length > 0) output.Write(outcome.Log);
            }
            switch (outcome.Verdict)
            {
                case Verdict.Pass: passed++; break;
                case Verdict.Unsupported: unsupported++; break;
                default: failed++; break;
            }
        }
        output.WriteLine($"{passed} passed, {failed} failed, {unsupported} unsupported");
        return failed > 0 ? 1 : 0;
    }

    private static Outcome SyntaxCheck(string file, DrillSettings settings)
    {
        try
        {
            Parser.Parse(File.ReadAllText(file), settings.Defines);
            return new Outcome(Verdict.Pass, null, [], "");
        }
        catch (ScriptSyntaxException e) { return new Outcome(Verdict.Fail, $"syntax error {e.Message}", [], ""); }
    }
}
