namespace UserStack.Tests.Packetdrill;

/// <summary>Every script in Packetdrill/Scripts, each an RFC rule told as a conversation.</summary>
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
        var runner = new ScriptRunner();
        try { runner.Run(File.ReadAllText(Path.Combine(Folder, file))); }
        catch (ScriptFailure f) { Assert.Fail(f.Message); }
        TestContext.Out.WriteLine(runner.Log);
    }

    [Test]
    public void There_are_scripts_to_run() => Assert.That(Directory.GetFiles(Folder, "*.pkt"), Is.Not.Empty);
}
