using UserStack.Drivers.Tap;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Support;

/// <summary>
/// Gate for tests that need root, /dev/net/tun and iproute2. Elsewhere they are skipped with
/// the reason; under CI=true a missing prerequisite fails them, so they can never silently pass.
/// </summary>
public static class Root
{
    public static void Require(params string[] tools)
    {
        string? missing = null;
        if (!TapDevice.IsAvailable(out var reason)) missing = reason;
        else if (!Shell.Exists("ip")) missing = "iproute2's 'ip' is not installed";
        else foreach (var t in tools) if (!Shell.Exists(t)) { missing = $"'{t}' is not installed"; break; }
        if (missing is null) return;
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail($"CI must run this test, but: {missing}");
        Assert.Ignore($"needs root, /dev/net/tun and iproute2: {missing}");
    }
}
