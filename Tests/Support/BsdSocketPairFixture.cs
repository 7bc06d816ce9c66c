using UserStack.Sockets.Api;

namespace UserStack.Tests.Support;

/// <summary>Two hosted stacks on an in-memory link, each with its descriptor face: <c>a</c> and <c>b</c>, fresh for every test.</summary>
public abstract class BsdSocketPairFixture
{
    protected HostedPair pair = null!;
    protected BsdSockets a = null!;
    protected BsdSockets b = null!;

    [SetUp]
    public void Up()
    {
        pair = new HostedPair();
        a = new BsdSockets(pair.A);
        b = new BsdSockets(pair.B);
    }

    [TearDown]
    public void Down() => pair.Dispose();
}
