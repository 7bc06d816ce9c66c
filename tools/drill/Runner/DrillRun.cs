using UserStack.Drill.Language;

namespace UserStack.Drill;

/// <summary>Runs script files and texts: parse (a syntax error is a FAIL naming the line), then play them against a fresh stack.</summary>
public static class DrillRun
{
    public static Outcome RunFile(string path, DrillSettings? settings = null) =>
        Run(File.ReadAllText(path), settings, Path.GetDirectoryName(Path.GetFullPath(path)));

    public static Outcome Run(string text, DrillSettings? settings = null, string? scriptDirectory = null)
    {
        settings ??= new DrillSettings();
        Script script;
        try { script = Parser.Parse(text, settings.Defines); }
        catch (ScriptSyntaxException e) { return new Outcome(Verdict.Fail, $"syntax error at line {e.Line}: {e.Reason}", [], ""); }
        return DrillRunner.Run(script, settings, scriptDirectory);
    }
}
