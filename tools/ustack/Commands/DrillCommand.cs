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
        var verbose = new Option<bool>("--verbose", "-v") { Description = "print each script's event log and warnings" };
        var command = new Command("drill", "Run packetdrill scripts against UserStack on a virtual clock, as packetdrill runs them against a kernel") { paths, syntaxOnly, verbose };
        command.SetAction(result =>
        {
            var files = new List<string>();
            foreach (var p in result.GetValue(paths)!)
            {
                if (Directory.Exists(p)) files.AddRange(Directory.EnumerateFiles(p, "*.pkt", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
                else if (File.Exists(p)) files.Add(p);
                else { Console.Error.WriteLine($"ustack drill: no such file or directory: {p}"); return 2; }
            }
            return Run(files, result.GetValue(syntaxOnly), result.GetValue(verbose), Console.Out);
        });
        return command;
    }

    public static int Run(IReadOnlyList<string> files, bool syntaxOnly, bool verbose, TextWriter output)
    {
        int passed = 0, failed = 0, unsupported = 0;
        foreach (var file in files)
        {
            var outcome = syntaxOnly ? SyntaxCheck(file) : DrillRun.RunFile(file);
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

    private static Outcome SyntaxCheck(string file)
    {
        try
        {
            Parser.Parse(File.ReadAllText(file));
            return new Outcome(Verdict.Pass, null, [], "");
        }
        catch (ScriptSyntaxException e) { return new Outcome(Verdict.Fail, $"syntax error {e.Message}", [], ""); }
    }
}
