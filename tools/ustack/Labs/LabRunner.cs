namespace UserStack.Tools.Labs;

/// <summary>How one lab runs: pausing, colour, and (for tests) a fault forced on the wire.</summary>
public sealed record LabRunOptions
{
    public bool Pause { get; init; }
    public bool Colour { get; init; }
    public TextReader? Input { get; init; }
    /// <summary>Frames from host "A"/"B" for which this holds are lost, whatever the lab scripts (a test's way to make a check fail).</summary>
    public Func<string, ReadOnlyMemory<byte>, bool>? Sabotage { get; init; }
}

/// <summary>The list of labs, and one lab's run from title to verdict.</summary>
public static class LabRunner
{
    public static IReadOnlyList<Lab> All { get; } =
    [
        new HandshakeLab(), new DelayedAckLab(), new FastRetransmitLab(), new RtoBackoffLab(), new PersistLab(),
        new SlowStartLab(), new SackRecoveryLab(), new SimultaneousOpenLab(), new SimultaneousCloseLab(), new RstLab(),
        new TimeWaitLab(), new SynFloodLab(), new ArpLab(), new FragmentationLab(),
    ];

    public static Lab? Find(string name) => All.FirstOrDefault(l => l.Name == name);

    public static void List(TextWriter output)
    {
        foreach (var lab in All) output.WriteLine($"  {lab.Name,-20} {lab.Title}");
    }

    /// <summary>Runs <paramref name="lab"/>; 0 when every closing check held, 1 (with the reason on the last line) when not.</summary>
    public static int Run(Lab lab, TextWriter output, LabRunOptions options)
    {
        var session = new LabSession(lab.Setup, options.Sabotage);
        var input = options.Input ?? Console.In;
        void Pause()
        {
            if (!options.Pause) return;
            output.Write("  [Enter] ");
            output.Flush();
            input.ReadLine();
        }
        var context = new LabContext(session, output, options.Colour, Pause);
        output.WriteLine(options.Colour ? $"\u001b[1mLab {lab.Name}: {lab.Title}\u001b[0m" : $"Lab {lab.Name}: {lab.Title}");
        foreach (var line in LabContext.Wrap(lab.Intro, 100)) output.WriteLine(line);
        output.WriteLine();
        output.WriteLine(LabLadder.Header($"A {LabSession.AddressA}", $"B {LabSession.AddressB}"));
        try { lab.Play(context); }
        catch (LabStoppedException e)
        {
            context.Flush();
            context.Failures.Add(e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or NullReferenceException)
        {
            context.Flush();
            context.Failures.Add($"the scenario could not go on: {e.Message}");
        }
        if (context.Checks == 0 && context.Failures.Count == 0) context.Failures.Add("the lab checked nothing");
        output.WriteLine();
        if (context.Failures.Count == 0)
        {
            output.WriteLine($"PASS lab {lab.Name}: {context.Checks} checks held");
            return 0;
        }
        output.WriteLine($"FAIL lab {lab.Name}: {string.Join("; ", context.Failures)}");
        return 1;
    }
}
