using UserStack.Fuzz;

namespace UserStack.Tests.Fuzz;

/// <summary>Every packetdrill script, translated into a fuzz input, runs through the harness without a crash and reaches states past LISTEN.</summary>
public class ScriptSeedTests
{
    private static IEnumerable<TestCaseData> Scripts() =>
        ScriptSeeds.FromDirectory(Path.Combine(AppContext.BaseDirectory, "Packetdrill", "Scripts"))
            .Select(s => new TestCaseData(s.Input).SetName($"Seed_{s.Name}"));

    [TestCaseSource(nameof(Scripts))]
    public void Replays_without_a_crash(byte[] input)
    {
        Assert.That(Finding.Crash(input), Is.Null);
    }

    [Test]
    public void Together_they_reach_every_synchronized_state()
    {
        var map = new TransitionMap();
        foreach (var s in ScriptSeeds.FromDirectory(Path.Combine(AppContext.BaseDirectory, "Packetdrill", "Scripts"))) Finding.Crash(s.Input, map);
        foreach (var state in RfcTransitions.Synchronized)
            Assert.That(Enum.GetValues<TcpEvent>().Sum(e => map.Count(state, e)), Is.GreaterThan(0), $"{state} is reached");
    }
}
