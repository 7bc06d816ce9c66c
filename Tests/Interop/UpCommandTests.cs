using System.Diagnostics;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>`ustack up` as a user runs it: a separate process, a ready line, SIGINT to stop.</summary>
[Category("Interop")]
[NonParallelizable]
public class UpCommandTests
{
    [SetUp]
    public void RequireRoot() => Root.Require("ping");

    private static Process StartUp(params string[] arguments) => UstackCli.Start(["up", .. arguments]);

    [Test]
    public void Up_serves_500_pings_at_10_ms_intervals_without_loss_and_cleans_up_on_sigint()
    {
        var (tap, ns) = TapFixture.NewNames();
        using var up = StartUp("--tap", tap, "--ip", "10.89.0.2/24", "--host-ip", "10.89.0.1/24", "--netns", ns);
        var errors = up.StandardError.ReadToEndAsync();
        try
        {
            var readyTask = up.StandardOutput.ReadLineAsync();
            if (!readyTask.Wait(TimeSpan.FromSeconds(30))) Assert.Fail("no ready line within 30 s");
            var ready = readyTask.Result;
            Assert.That(ready, Does.StartWith("ready ip=10.89.0.2/24 mac="));
            Assert.That(ready, Does.Contain($"tap={tap}").And.Contain($"netns={ns}"));

            var r = PingResult.Parse(Shell.Run("ip", ["netns", "exec", ns, "ping", "-q", "-c", "500", "-i", "0.01", "-W", "1", "10.89.0.2"], TimeSpan.FromSeconds(60)).Output);
            Assert.That(r.Transmitted, Is.EqualTo(500), r.Output);
            Assert.That(r.Received, Is.EqualTo(500), r.Output);
        }
        finally
        {
            Shell.Run("kill", "-INT", up.Id.ToString());
            if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
        }
        var rest = up.StandardOutput.ReadToEnd();
        Assert.That(up.ExitCode, Is.Zero, errors.Result);
        Assert.That(rest, Does.Contain("stopped; counters:").And.Contain("IcmpEchoRepliesSent"));
        Assert.That(NetworkNamespace.Exists(ns), Is.False, "the namespace it created is gone");
    }

    [Test]
    public void Up_with_a_bad_address_exits_with_a_one_line_reason()
    {
        using var up = StartUp("--tap", "ustbad0", "--ip", "10.0.0.300/24");
        Assert.That(up.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(up.ExitCode, Is.EqualTo(2));
        var error = up.StandardError.ReadToEnd().Trim();
        Assert.That(error, Does.Contain("10.0.0.300/24"));
        Assert.That(error.Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void Up_takes_the_congestion_control_and_tcp_options_to_switch_off()
    {
        var (tap, ns) = TapFixture.NewNames();
        using var up = StartUp("--tap", tap, "--ip", "10.89.0.2/24", "--host-ip", "10.89.0.1/24", "--netns", ns, "--congestion", "newreno", "--tcp-off", "sack,timestamps");
        var errors = up.StandardError.ReadToEndAsync();
        try
        {
            var readyTask = up.StandardOutput.ReadLineAsync();
            if (!readyTask.Wait(TimeSpan.FromSeconds(30))) Assert.Fail("no ready line within 30 s");
            Assert.That(readyTask.Result, Does.EndWith(" tcp=newreno,wscale"));
        }
        finally
        {
            Shell.Run("kill", "-INT", up.Id.ToString());
            if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
        }
        Assert.That(up.ExitCode, Is.Zero, errors.Result);
    }

    [Test]
    public void Up_with_an_unknown_congestion_control_exits_with_a_one_line_reason()
    {
        using var up = StartUp("--tap", "ustbad1", "--ip", "10.0.0.2/24", "--congestion", "bbr");
        Assert.That(up.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(up.ExitCode, Is.EqualTo(2));
        var error = up.StandardError.ReadToEnd().Trim();
        Assert.That(error, Does.Contain("bbr").And.Contain("cubic, newreno"));
        Assert.That(error.Split('\n'), Has.Length.EqualTo(1));
    }
}
