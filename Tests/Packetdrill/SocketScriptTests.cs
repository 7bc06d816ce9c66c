extern alias differential;
using differential::UserStack.Differential;
using UserStack.Drill;
using UserStack.Tests.Support;

namespace UserStack.Tests.Packetdrill;

/// <summary>
/// Packetdrill/Sockets: one short script per call, flag or option behaviour of the BsdSockets face
/// (docs/sockets.md), each citing its man page. Every script passes on UserStack (DrillRun, in
/// process) and on the Linux kernel (the differential runner, kernel sockets in a namespace of
/// their own), where each call's result, errno and returned values are checked by the same code
/// (ScriptCalls) that checks UserStack's.
/// </summary>
public class SocketScriptTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Packetdrill", "Sockets");

    public static IEnumerable<TestCaseData> Scripts() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Packetdrill", "Sockets"), "*.pkt")
            .OrderBy(p => p)
            .Select(p => new TestCaseData(Path.GetFileName(p)).SetName("sockets " + Path.GetFileNameWithoutExtension(p).Replace('-', ' ')));

    [TestCaseSource(nameof(Scripts))]
    public void On_UserStack(string file)
    {
        var outcome = DrillRun.RunFile(Path.Combine(Folder, file));
        TestContext.Out.WriteLine(outcome.Log);
        Assert.That(outcome.Verdict, Is.EqualTo(UserStack.Drill.Verdict.Pass), outcome.Message);
    }

    [Test]
    public void There_are_scripts_to_run() => Assert.That(Directory.GetFiles(Folder, "*.pkt"), Has.Length.GreaterThanOrEqualTo(30));
}

/// <summary>The same scripts against the Linux kernel: no call may differ (segments are compared too, and listed, but the point here is the calls).</summary>
[Category("Interop")]
[NonParallelizable]
public class SocketScriptsOnLinuxTests
{
    [Test]
    public void Every_socket_script_gives_the_same_call_results_on_linux()
    {
        Root.Require("sysctl");
        var outcomes = DifferentialRun.Run(new DifferentialOptions
        {
            ScriptFolder = Path.Combine(AppContext.BaseDirectory, "Packetdrill", "Sockets"),
            MaxScriptSeconds = 5,
        });
        TestContext.Out.WriteLine(Report.Text(outcomes));
        foreach (var o in outcomes) TestContext.Out.WriteLine($"--- {o.Script}\n{o.Log}");

        Assert.That(outcomes.Where(o => o.Skipped is not null).Select(o => $"{o.Script}: {o.Skipped}"), Is.Empty, "every script is played against the kernel");
        Assert.That(outcomes.Where(o => o.UserStackFailure is not null).Select(o => $"{o.Script}: {o.UserStackFailure}"), Is.Empty, "every script passes on UserStack");
        var calls = outcomes.SelectMany(o => o.Differences).Where(d => d.Aspect == Aspect.Call).Select(d => $"{d.Script}:{d.Line} {d.Detail} [linux: {d.Linux}]");
        Assert.That(calls, Is.Empty, "no call differs from Linux");
        Assert.That(outcomes.SelectMany(o => o.Differences).Select(d => $"{d.Script}:{d.Line} {d.Aspect}: {d.Detail}"), Is.Empty, "nor any segment");
    }
}
