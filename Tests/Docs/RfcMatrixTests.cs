using UserStack.Tests.Support;
using UserStack.Tools.Rfc;

namespace UserStack.Tests.Docs;

/// <summary>
/// docs/rfc-matrix.md stays true: every RFC 9293 MUST has a row, every rule marked implemented has a
/// test that names it, every [Rfc]/`// rfc:` names a listed rule, and the committed file is what
/// `ustack rfc-matrix` writes from today's tests.
/// </summary>
public class RfcMatrixTests
{
    private static readonly string Root = RfcMatrix.FindRepositoryRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException($"no UserStack.sln above {AppContext.BaseDirectory}");

    private static RfcMatrix Build() => RfcMatrix.Build(Root, typeof(RfcAttribute).Assembly);

    [Test]
    public void The_requirement_list_and_the_tests_agree() =>
        Assert.That(Build().Problems, Is.Empty, "fix docs/rfc/requirements.tsv or the test tags");

    [Test]
    public void Every_rfc_9293_must_has_a_row()
    {
        var ids = Build().List.Rows.Where(r => r.Rfc == 9293).Select(r => r.Id).ToHashSet();
        Assert.That(Enumerable.Range(1, RfcMatrix.LastMust).Select(n => $"MUST-{n}").Where(id => !ids.Contains(id)), Is.Empty);
    }

    [Test]
    public void The_committed_matrix_is_current()
    {
        var committed = File.ReadAllText(Path.Combine(Root, RfcMatrix.OutputPath));
        Assert.That(committed, Is.EqualTo(Build().Render()),
            "docs/rfc-matrix.md is stale: dotnet build Tests/Tests.csproj && dotnet run --project tools/ustack -- rfc-matrix");
    }

    [Test]
    public void Tests_in_the_matrix_link_to_their_files()
    {
        var evidence = Build().Evidence;
        Assert.That(evidence, Is.Not.Empty);
        Assert.That(evidence.Where(e => e.File.Length == 0 || !File.Exists(Path.Combine(Root, e.File))).Select(e => e.Name), Is.Empty);
    }
}
