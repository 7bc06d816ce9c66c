using UserStack.Tests.Support;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Tests.Interop;

/// <summary>The network-safety rule, enforced in code: scenes never address the machine's own namespace.</summary>
public class SafetyTests
{
    [Test]
    public void A_scene_without_a_namespace_refuses_to_configure_a_host_address()
    {
        if (!NetworkNamespace.InInitialNamespace()) Assert.Ignore("this process already runs in a private namespace");
        var options = new SceneOptions
        {
            TapName = "ustrefuse0",
            StackAddress = Ipv4Cidr.Parse("10.99.0.2/24"),
            HostAddress = Ipv4Cidr.Parse("10.99.0.1/24"),
        };
        var e = Assert.Throws<InvalidOperationException>(() => TapScene.Start(options));
        Assert.That(e!.Message, Does.Contain("own network namespace"));
        Assert.That(Shell.Run("ip", "link", "show", "ustrefuse0").Succeeded, Is.False, "no TAP was created");
    }
}
