extern alias differential;
using differential::UserStack.Differential;
using UserStack.Tests.Support;

namespace UserStack.Tests.Interop;

/// <summary>
/// Issue 7's differential mode over a handful of quick scripts: each runs on UserStack and on the
/// Linux kernel in a namespace of its own, and every difference must come out with a class and a
/// reason (docs/differential.md). It does not ask for no differences: Linux differs, by policy
/// and in a few places from the RFCs.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class DifferentialTests
{
    private static readonly string[] QuickScripts =
    [
        "closed-port-syn-gets-rst-ack",
        "listen-ack-gets-rst",
        "rfc6928-initial-window-ten-segments",
        "rfc5961-rst-challenge-ack",
        "simultaneous-open",
        "syn-sent-rst-refuses",
    ];

    [SetUp]
    public void RequireRoot() => Root.Require("sysctl");

    [Test]
    public void Quick_scripts_run_against_linux_and_every_difference_is_classified()
    {
        var outcomes = DifferentialRun.Run(new DifferentialOptions
        {
            ScriptFolder = Path.Combine(AppContext.BaseDirectory, "Packetdrill", "Scripts"),
            Only = QuickScripts,
            MaxScriptSeconds = 5,
        });
        TestContext.Out.WriteLine(Report.Text(outcomes));

        Assert.That(outcomes.Select(o => o.Script), Is.EquivalentTo(QuickScripts), "every script ran");
        Assert.That(outcomes.Where(o => o.Skipped is not null), Is.Empty, "none skipped");
        Assert.That(outcomes.Where(o => o.UserStackFailure is not null).Select(o => $"{o.Script}: {o.UserStackFailure}"), Is.Empty, "the scripts pass on UserStack");
        var differences = outcomes.SelectMany(o => o.Differences).ToList();
        Assert.That(differences, Is.Not.Empty, "Linux differs from UserStack somewhere in these scripts (wscale, PSH)");
        Assert.That(differences.Where(d => d.Verdict.Class == DifferenceClass.Unclassified).Select(d => $"{d.Script}:{d.Line} {d.Aspect}: {d.Detail} [linux: {d.Linux}]"),
            Is.Empty, "every difference has a class");
        Assert.That(differences.Where(d => string.IsNullOrWhiteSpace(d.Verdict.Reason)), Is.Empty, "every class has its reason");
        Assert.That(NetworkNamespaces().Where(n => n.StartsWith($"usdiff-{Environment.ProcessId}-")), Is.Empty, "the namespaces are deleted");
    }

    private static IEnumerable<string> NetworkNamespaces() =>
        Directory.Exists("/var/run/netns") ? Directory.GetFiles("/var/run/netns").Select(Path.GetFileName).OfType<string>() : [];
}
