using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Tests.Support;

/// <summary>Names and scenes for tests on a real TAP, each in a namespace of its own.</summary>
public static class TapFixture
{
    private static int counter;

    public static readonly Ipv4Cidr StackAddress = Ipv4Cidr.Parse("10.88.0.2/24");
    public static readonly Ipv4Cidr HostAddress = Ipv4Cidr.Parse("10.88.0.1/24");

    public static (string Tap, string Namespace) NewNames()
    {
        int n = Interlocked.Increment(ref counter);
        return ($"ust{Environment.ProcessId % 100000}x{n}", $"ustest-{Environment.ProcessId}-{n}");
    }

    public static TapScene Start(int mtu = 1500, string? pcap = null)
    {
        var (tap, ns) = NewNames();
        return TapScene.Start(new SceneOptions
        {
            TapName = tap,
            Namespace = ns,
            StackAddress = StackAddress,
            HostAddress = HostAddress,
            Mtu = mtu,
            PcapPath = pcap,
        });
    }
}
