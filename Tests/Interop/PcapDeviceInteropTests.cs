using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>
/// `ustack up --pcap-device`: the stack attached through libpcap to veth end A, with its own MAC,
/// the kernel on end B, both in a namespace the test creates. SharpPcap opens interfaces of its
/// own namespace only, so `ustack up` runs inside it (`ip netns exec`), as a user would.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class PcapDeviceInteropTests
{
    private static readonly IPAddress StackIp = IPAddress.Parse("10.86.0.2");
    private const string StackMac = "02:00:00:86:00:02";

    [SetUp]
    public void RequireRoot() => Root.Require("ping", "ethtool");

    /// <summary>A namespace with veth pair (A for the stack, B for the kernel at 10.86.0.1/24), B's offloads off.</summary>
    private static NetworkNamespace VethNamespace(out string a)
    {
        var (name, ns) = TapFixture.NewNames();
        var space = NetworkNamespace.Create(ns);
        a = name + "a";
        var b = name + "b";
        space.Ip("link", "add", a, "type", "veth", "peer", "name", b);
        space.Ip("addr", "add", "10.86.0.1/24", "dev", b);
        space.Ip("link", "set", a, "up");
        space.Ip("link", "set", b, "up");
        // The kernel would hand veth frames over with checksums left to "hardware" and TCP in 64 KB
        // segments (a packet socket sees them before any NIC finishes them): make it finish them itself.
        space.Exec(TimeSpan.FromSeconds(10), "ethtool", "-K", b, "tx", "off", "tso", "off", "gso", "off").ThrowIfFailed();
        return space;
    }

    private static Process StartUpInside(NetworkNamespace ns, params string[] arguments)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns.Name, "dotnet", UstackCli.Dll, "up" }) info.ArgumentList.Add(a);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    [Test]
    public void Ping_udp_echo_and_a_10_MB_tcp_echo_work_over_a_veth_end_opened_through_pcap()
    {
        using var ns = VethNamespace(out var a);
        using var up = StartUpInside(ns, "--pcap-device", a, "--ip", "10.86.0.2/24", "--mac", StackMac, "--daemons", "echo");
        var errors = up.StandardError.ReadToEndAsync();
        try
        {
            var readyTask = up.StandardOutput.ReadLineAsync();
            if (!readyTask.Wait(TimeSpan.FromSeconds(30))) Assert.Fail("no ready line within 30 s: " + (up.HasExited ? errors.Result : ""));
            Assert.That(readyTask.Result, Does.StartWith($"ready ip=10.86.0.2/24 mac={StackMac} pcap-device={a} "));

            var ping = PingResult.Parse(ns.Exec(TimeSpan.FromSeconds(30), "ping", "-q", "-c", "20", "-i", "0.02", "-W", "1", "10.86.0.2").Output);
            Assert.That(ping.Received, Is.EqualTo(20), ping.Output);

            var udp = ns.RunInside(() =>
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 2000 };
                client.Connect(new IPEndPoint(StackIp, 7));
                var problems = new List<string>();
                var random = new Random(7);
                var back = new byte[2048];
                for (int i = 0; i < 200; i++)
                {
                    var payload = new byte[random.Next(0, 1473)];
                    random.NextBytes(payload);
                    client.Send(payload);
                    try { int n = client.Receive(back); if (!back.AsSpan(0, n).SequenceEqual(payload)) problems.Add($"#{i} differs"); }
                    catch (SocketException e) { problems.Add($"#{i}: {e.SocketErrorCode}"); }
                }
                return problems;
            });
            Assert.That(udp, Is.Empty);

            var data = new byte[10 * 1024 * 1024];
            new Random(10).NextBytes(data);
            var echoed = ns.RunInside(() =>
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000, SendTimeout = 10_000 };
                client.Connect(new IPEndPoint(StackIp, 7));
                var writer = Task.Run(() => client.Send(data));
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[65536];
                long total = 0;
                while (total < data.Length)
                {
                    int n = client.Receive(buffer);
                    if (n == 0) break;
                    hash.AppendData(buffer, 0, n);
                    total += n;
                }
                writer.Wait(TimeSpan.FromSeconds(10));
                return (total, Convert.ToHexString(hash.GetHashAndReset()));
            });
            Assert.That(echoed.total, Is.EqualTo(data.Length));
            Assert.That(echoed.Item2, Is.EqualTo(Convert.ToHexString(SHA256.HashData(data))), "SHA-256 of what came back");
        }
        finally
        {
            Shell.Run("kill", "-INT", up.Id.ToString());
            if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
        }
        var rest = up.StandardOutput.ReadToEnd();
        Assert.That(up.ExitCode, Is.Zero, errors.Result);
        Assert.That(rest, Does.Contain("stopped; counters:").And.Contain("TcpPassiveOpens"));
        var own = System.Text.RegularExpressions.Regex.Match(rest, @"(\d+) of our own read back and ignored");
        Assert.That(own.Success, Is.True, rest);
        Assert.That(long.Parse(own.Groups[1].Value), Is.Zero, "Linux never hands a packet socket its own frames back: none of ours became input");
        Assert.That(rest, Does.Not.Contain("TcpBadChecksum").And.Not.Contain("UdpBadChecksum"), "the kernel's frames were finished before pcap saw them");
    }

    [Test]
    public void An_interface_missing_from_the_namespace_is_a_one_line_error()
    {
        using var ns = VethNamespace(out _);
        using var up = StartUpInside(ns, "--pcap-device", "nosuch0", "--ip", "10.86.0.2/24");
        Assert.That(up.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(up.ExitCode, Is.EqualTo(2));
        var error = up.StandardError.ReadToEnd().Trim();
        Assert.That(error, Does.Contain("no interface 'nosuch0'"));
        Assert.That(error.Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void Tap_and_pcap_device_together_are_refused()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var x in new[] { UstackCli.Dll, "up", "--tap", "ustx0", "--pcap-device", "eth0", "--ip", "10.86.0.2/24" }) info.ArgumentList.Add(x);
        using var up = Process.Start(info)!;
        Assert.That(up.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(up.ExitCode, Is.EqualTo(2));
        Assert.That(up.StandardError.ReadToEnd(), Does.Contain("either --tap NAME or --pcap-device IFACE"));
    }
}
