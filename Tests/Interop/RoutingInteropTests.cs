using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>
/// `ustack up --tap A --ip .. --tap C --ip .. --forward`: the stack as a router between two kernels,
/// each in a namespace of its own (created by `up`, routed through the stack by the test).
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class RoutingInteropTests
{
    [SetUp]
    public void RequireRoot() => Root.Require("ping");

    private static Process StartUp(params string[] arguments) => UstackCli.Start(["up", .. arguments]);

    [Test]
    public void Two_kernels_ping_and_move_4_MB_of_tcp_through_the_stack_and_hear_its_icmp_errors()
    {
        var (tapA, nsA) = TapFixture.NewNames();
        var (tapC, nsC) = TapFixture.NewNames();
        using var up = StartUp("--tap", tapA, "--ip", "10.84.0.1/24", "--host-ip", "10.84.0.2/24", "--netns", nsA,
                               "--tap", tapC, "--ip", "10.85.0.1/24", "--host-ip", "10.85.0.2/24", "--netns", nsC,
                               "--mtu", "1500", "--mtu", "1000", "--forward");
        var errors = up.StandardError.ReadToEndAsync();
        try
        {
            var readyTask = up.StandardOutput.ReadLineAsync();
            if (!readyTask.Wait(TimeSpan.FromSeconds(30))) Assert.Fail("no ready line within 30 s: " + (up.HasExited ? errors.Result : ""));
            Assert.That(readyTask.Result, Does.Contain($"tap={tapA}").And.Contain($" link={tapC}:10.85.0.1/24:").And.Contain(":mtu1000").And.Contain(" forward=on"));
            var a = NetworkNamespace.OpenOrCreate(nsA);
            var c = NetworkNamespace.OpenOrCreate(nsC);
            a.Ip("route", "add", "default", "via", "10.84.0.1");
            c.Ip("route", "add", "default", "via", "10.85.0.1");

            var ping = PingResult.Parse(a.Exec(TimeSpan.FromSeconds(30), "ping", "-c", "20", "-i", "0.02", "-W", "1", "10.85.0.2").Output);
            Assert.That(ping.Received, Is.EqualTo(20), ping.Output);
            Assert.That(ping.Output, Does.Contain("ttl=63"), "one hop through the stack");

            // RFC 1812 5.3.1 and RFC 1191, as the kernel's ping reports them.
            var ttl = a.Exec(TimeSpan.FromSeconds(10), "ping", "-c", "1", "-W", "1", "-t", "1", "10.85.0.2");
            Assert.That(ttl.Output, Does.Contain("From 10.84.0.1").And.Contain("Time to live exceeded"), ttl.Output);
            var big = a.Exec(TimeSpan.FromSeconds(10), "ping", "-c", "2", "-W", "1", "-M", "do", "-s", "1400", "10.85.0.2");
            Assert.That(big.Output + big.Error, Does.Contain("mtu = 1000").IgnoreCase, big.Output + big.Error);

            var data = new byte[4 * 1024 * 1024];
            new Random(1812).NextBytes(data);
            using var listener = c.ListenTcp(5001);
            var server = Task.Run(() =>
            {
                using var s = listener.Accept();
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[65536];
                long total = 0;
                int n;
                while ((n = s.Receive(buffer)) > 0) { hash.AppendData(buffer, 0, n); total += n; }
                return (total, Convert.ToHexString(hash.GetHashAndReset()));
            });
            a.RunInside(() =>
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendTimeout = 20_000 };
                client.Connect(new IPEndPoint(IPAddress.Parse("10.85.0.2"), 5001));
                client.Send(data);
                client.Shutdown(SocketShutdown.Send);
                return 0;
            });
            Assert.That(server.Wait(TimeSpan.FromSeconds(60)), Is.True, "the transfer ends");
            Assert.That(server.Result.total, Is.EqualTo(data.Length));
            Assert.That(server.Result.Item2, Is.EqualTo(Convert.ToHexString(SHA256.HashData(data))));
        }
        finally
        {
            Shell.Run("kill", "-INT", up.Id.ToString());
            if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
        }
        var rest = up.StandardOutput.ReadToEnd();
        Assert.That(up.ExitCode, Is.Zero, errors.Result);
        Assert.That(rest, Does.Contain("Ipv4Forwarded").And.Contain("Dropped.Ipv4TimeToLiveExceeded").And.Contain("Dropped.Ipv4TooBig"));
        Assert.That(NetworkNamespace.Exists(nsA) || NetworkNamespace.Exists(nsC), Is.False, "both namespaces it created are gone");
    }

    [Test]
    public void Without_forward_the_stack_drops_what_is_for_the_other_side()
    {
        var (tapA, nsA) = TapFixture.NewNames();
        var (tapC, nsC) = TapFixture.NewNames();
        using var up = StartUp("--tap", tapA, "--ip", "10.84.0.1/24", "--host-ip", "10.84.0.2/24", "--netns", nsA,
                               "--tap", tapC, "--ip", "10.85.0.1/24", "--host-ip", "10.85.0.2/24", "--netns", nsC);
        var errors = up.StandardError.ReadToEndAsync();
        try
        {
            var readyTask = up.StandardOutput.ReadLineAsync();
            if (!readyTask.Wait(TimeSpan.FromSeconds(30))) Assert.Fail("no ready line within 30 s: " + (up.HasExited ? errors.Result : ""));
            Assert.That(readyTask.Result, Does.Not.Contain("forward=on"));
            var a = NetworkNamespace.OpenOrCreate(nsA);
            a.Ip("route", "add", "default", "via", "10.84.0.1");
            var far = PingResult.Parse(a.Exec(TimeSpan.FromSeconds(30), "ping", "-q", "-c", "3", "-i", "0.2", "-W", "1", "10.85.0.2").Output);
            Assert.That(far.Received, Is.Zero, far.Output);
            var near = PingResult.Parse(a.Exec(TimeSpan.FromSeconds(30), "ping", "-q", "-c", "3", "-i", "0.2", "-W", "1", "10.85.0.1").Output);
            Assert.That(near.Received, Is.EqualTo(3), "the stack's other address is its own (weak host): " + near.Output);
        }
        finally
        {
            Shell.Run("kill", "-INT", up.Id.ToString());
            if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
        }
        var rest = up.StandardOutput.ReadToEnd();
        Assert.That(up.ExitCode, Is.Zero, errors.Result);
        Assert.That(rest, Does.Contain("Dropped.Ipv4NotForUs"));
        Assert.That(rest, Does.Not.Contain("Ipv4Forwarded"));
    }

    [Test]
    public void Mismatched_link_options_are_a_one_line_error()
    {
        using var up = StartUp("--tap", "ustm0", "--ip", "10.84.0.1/24", "--tap", "ustm1");
        Assert.That(up.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(up.ExitCode, Is.EqualTo(2));
        var error = up.StandardError.ReadToEnd().Trim();
        Assert.That(error, Does.Contain("give one --ip per link: 2 link(s), 1 --ip"));
        Assert.That(error.Split('\n'), Has.Length.EqualTo(1));
    }
}
