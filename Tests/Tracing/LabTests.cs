using System.Runtime.CompilerServices;
using UserStack.Tools.Labs;

namespace UserStack.Tests.Tracing;

/// <summary>
/// `ustack lab`: every lab runs without pausing and ends in the state it describes (its closing checks hold);
/// the handshake lab's output is a golden file (UPDATE_GOLDEN=1 rewrites it); a lab whose wire is sabotaged fails its check.
/// </summary>
public class LabTests
{
    private static IEnumerable<string> Names => LabRunner.All.Select(l => l.Name);

    private static (int Code, string Output) Run(string name, LabRunOptions? options = null)
    {
        var output = new StringWriter { NewLine = "\n" };
        int code = LabRunner.Run(LabRunner.Find(name) ?? throw new ArgumentException(name), output, options ?? new LabRunOptions());
        return (code, output.ToString());
    }

    [TestCaseSource(nameof(Names))]
    public void Lab_runs_with_no_pause_and_ends_in_the_state_it_describes(string name)
    {
        var (code, output) = Run(name);
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("Step 1:").And.Contain("Checks:").And.Contain("  ✓ ").And.Not.Contain("  ✗ "));
        Assert.That(output.TrimEnd(), Does.EndWith($"checks held").And.Contain($"PASS lab {name}:"));
        Assert.That(output, Does.Not.Contain("\u001b["), "no colour unless asked for");
        Assert.That(output, Does.Not.Contain("[Enter]"), "no pause unless asked for");
    }

    [TestCaseSource(nameof(Names))]
    public void Lab_fails_its_checks_when_the_wire_loses_everything_B_sends(string name)
    {
        var (code, output) = Run(name, new LabRunOptions { Sabotage = (host, _) => host == "B" });
        Assert.That(code, Is.EqualTo(1), output);
        TestContext.Out.WriteLine(output.TrimEnd().Split('\n')[^1]);
        Assert.That(output.TrimEnd().Split('\n')[^1], Does.StartWith($"FAIL lab {name}: "));
    }

    [Test]
    public void The_list_names_the_fourteen_labs_of_the_issue_in_kebab_case()
    {
        Assert.That(Names, Is.EqualTo(new[]
        {
            "handshake", "delayed-ack", "fast-retransmit", "rto-backoff", "persist", "slow-start", "sack-recovery",
            "simultaneous-open", "simultaneous-close", "rst", "time-wait", "syn-flood", "arp", "fragmentation",
        }));
        var list = new StringWriter();
        LabRunner.List(list);
        Assert.That(list.ToString(), Does.Contain("handshake").And.Contain("The three-way handshake").And.Contain("fragmentation"));
        Assert.That(LabRunner.Find("no-such-lab"), Is.Null);
    }

    [Test]
    public void Handshake_lab_output_matches_the_golden_file() => AssertGolden("lab-handshake.txt", Run("handshake").Output);

    [Test]
    public void A_lab_is_deterministic_the_same_run_prints_the_same_text() =>
        Assert.That(Run("sack-recovery").Output, Is.EqualTo(Run("sack-recovery").Output));

    [Test]
    public void The_ladder_draws_As_frames_rightwards_and_Bs_leftwards_with_flags_seq_ack_and_reasons()
    {
        var output = Run("handshake").Output;
        Assert.That(output, Does.Match(@"│─ S seq 0 win \d+ ─+►│ SYN: active open|│─ S seq 0 win \d+ ─+►│ options mss"));
        Assert.That(output, Does.Match(@"│◄─+ S\. seq 0 ack 1 win \d+ ─│ SYN-ACK: answering a SYN, RFC 9293 §3\.10\.7\.2"));
        Assert.That(output, Does.Match(@"│ +│ B: SYN-RECEIVED → ESTABLISHED: our SYN acknowledged, RFC 9293 §3\.10\.7\.4"));
    }

    [Test]
    public void A_frame_the_lab_drops_is_drawn_lost()
    {
        var output = Run("fast-retransmit").Output;
        Assert.That(output, Does.Match(@"│─ \. seq 2897:4345 ack 1 win \d+ len 1448 ─✕ +│ LOST on the wire"));
        Assert.That(output, Does.Match(@"│─ \. seq 2897:4345 ack 1 win \d+ len 1448 ─+►│ fast retransmit, RFC 5681 §3\.2"));
    }

    [Test]
    public void The_handshake_lab_fails_its_check_when_the_wire_loses_everything_B_sends()
    {
        var (code, output) = Run("handshake", new LabRunOptions { Sabotage = (host, _) => host == "B" });
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("  ✗ A is ESTABLISHED (got SYN-SENT)").Or.Contain("  ✗ A is ESTABLISHED (got CLOSED)"));
        Assert.That(output.TrimEnd().Split('\n')[^1], Does.StartWith("FAIL lab handshake: A is ESTABLISHED"));
    }

    [Test]
    public void The_fragmentation_lab_fails_its_check_when_a_fragment_is_lost()
    {
        int fragments = 0;
        var (code, output) = Run("fragmentation", new LabRunOptions { Sabotage = (host, f) => host == "A" && f.Length > 1000 && ++fragments == 2 });
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("  ✗ B's socket received the 4000 bytes whole (got 0 bytes)"));
    }

    [Test]
    public void The_rto_backoff_lab_fails_its_check_when_every_copy_of_the_data_is_lost()
    {
        var (code, output) = Run("rto-backoff", new LabRunOptions { Sabotage = (host, f) => host == "A" && LabFrames.IsTcpData(f) });
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("  ✗ B finally received the 100 bytes"));
    }

    [Test]
    public void With_pause_each_step_waits_for_enter_on_the_input()
    {
        var (code, output) = Run("handshake", new LabRunOptions { Pause = true, Input = new StringReader("\n\n\n") });
        Assert.That(code, Is.Zero);
        Assert.That(output.Split("[Enter]").Length - 1, Is.EqualTo(3));
    }

    [Test]
    public void With_colour_the_ladder_uses_ansi_colours()
    {
        var (code, output) = Run("handshake", new LabRunOptions { Colour = true });
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("\u001b[32m─ S seq 0"));
    }

    [TestCase(new[] { "lab", "handshake", "--no-pause" }, 0, "PASS lab handshake: 4 checks held")]
    [TestCase(new[] { "lab", "--list" }, 0, "  sack-recovery        SACK recovery")]
    [TestCase(new[] { "lab", "no-such-lab" }, 2, "ustack lab: no lab named 'no-such-lab'")]
    public void The_command_line_runs_a_lab_lists_them_and_refuses_an_unknown_name(string[] args, int code, string expected)
    {
        var (output, error) = (Console.Out, Console.Error);
        var captured = new StringWriter();
        Console.SetOut(captured);
        Console.SetError(captured);
        try
        {
            var root = new System.CommandLine.RootCommand { UserStack.Tools.Commands.LabCommand.Create() };
            Assert.That(root.Parse(args).Invoke(), Is.EqualTo(code), captured.ToString());
        }
        finally { Console.SetOut(output); Console.SetError(error); }
        Assert.That(captured.ToString(), Does.Contain(expected));
    }

    private static void AssertGolden(string name, string actual, [CallerFilePath] string here = "")
    {
        var path = Path.Combine(Path.GetDirectoryName(here)!, "Golden", name);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1" || !File.Exists(path))
        {
            File.WriteAllText(path, actual);
            if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") != "1") Assert.Fail($"golden file {path} was missing and has been written: check it and run again");
        }
        Assert.That(actual, Is.EqualTo(File.ReadAllText(path)), $"lab output differs from {path} (UPDATE_GOLDEN=1 rewrites it after a deliberate change)");
    }
}
