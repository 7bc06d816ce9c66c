using UserStack.Drill;

namespace UserStack.Tests.Packetdrill;

/// <summary>
/// Every script in Packetdrill/Scripts, each an RFC rule told as a conversation, played by
/// `ustack drill`'s runner through UserStack's real socket API on a virtual clock.
/// </summary>
public class ScriptTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Packetdrill", "Scripts");

    public static IEnumerable<TestCaseData> Scripts() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Packetdrill", "Scripts"), "*.pkt")
            .OrderBy(p => p)
            .Select(p => new TestCaseData(Path.GetFileName(p)).SetName(Path.GetFileNameWithoutExtension(p).Replace('-', ' ')));

    [TestCaseSource(nameof(Scripts))]
    public void Script(string file)
    {
        var outcome = DrillRun.RunFile(Path.Combine(Folder, file));
        TestContext.Out.WriteLine(outcome.Log);
        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Pass), outcome.Message);
    }

    [Test]
    public void There_are_scripts_to_run() => Assert.That(Directory.GetFiles(Folder, "*.pkt"), Is.Not.Empty);
}
