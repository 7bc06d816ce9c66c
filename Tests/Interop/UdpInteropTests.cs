using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using UserStack.Sockets.Daemons;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>UDP and raw sockets against the Linux kernel over a real TAP in a private namespace.</summary>
[Category("Interop")]
[NonParallelizable]
public class UdpInteropTests
{
    private static IPAddress Stack => TapFixture.StackAddress.Address.ToIPAddress();

    [SetUp]
    public void RequireRoot() => Root.Require("ping");

    [Test]
    public void Ten_thousand_datagrams_of_sizes_0_to_1472_come_back_from_the_echo_daemon_intact()
    {
        using var scene = TapFixture.Start();
        using var daemons = new UdpDaemons(scene.Host, [DaemonKind.Echo]);
        var failures = scene.Namespace!.RunInside(() =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 2000 };
            client.Connect(new IPEndPoint(Stack, 7));
            var random = new Random(768);
            var received = new byte[2048];
            var problems = new List<string>();
            for (int i = 0; i < 10_000 && problems.Count < 10; i++)
            {
                int size = i == 0 ? 0 : i == 1 ? 1472 : random.Next(0, 1473);
                var payload = new byte[size];
                random.NextBytes(payload);
                client.Send(payload);
                try
                {
                    int n = client.Receive(received);
                    if (!received.AsSpan(0, n).SequenceEqual(payload)) problems.Add($"#{i}: {n} bytes back for {size}, content differs");
                }
                catch (SocketException e) { problems.Add($"#{i} ({size} bytes): {e.SocketErrorCode}"); }
            }
            return problems;
        });
        Assert.That(failures, Is.Empty);
        Assert.That(() => daemons.Answered, Is.EqualTo(10_000).After(2000, 10)); // counted after the send returns: the last echo can arrive first
    }

    [Test]
    public void A_connected_kernel_socket_sending_to_a_closed_stack_port_gets_connection_refused()
    {
        using var scene = TapFixture.Start();
        var error = scene.Namespace!.RunInside(() =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 3000 };
            client.Connect(new IPEndPoint(Stack, 4242));
            client.Send([1, 2, 3]);
            try { client.Receive(new byte[16]); return SocketError.Success; }
            catch (SocketException e) { return e.SocketErrorCode; }
        });
        Assert.That(error, Is.EqualTo(SocketError.ConnectionRefused), "the kernel saw our ICMP port unreachable");
        Assert.That(scene.Stack.Counters[Diagnostics.Counter.IcmpErrorsSent], Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public void Nc_reaches_each_daemon_and_gets_the_right_answer()
    {
        Root.Require("nc");
        using var scene = TapFixture.Start();
        using var daemons = new UdpDaemons(scene.Host, DaemonKinds.All);
        string Nc(int port, string input)
        {
            var path = Path.GetTempFileName();
            File.WriteAllText(path, input);
            try { return scene.HostExec(TimeSpan.FromSeconds(15), "sh", "-c", $"nc -u -w 1 {Stack} {port} < {path}").Output; }
            finally { File.Delete(path); }
        }
        Assert.That(Nc(7, "hello from nc\n"), Is.EqualTo("hello from nc\n"), "echo");
        Assert.That(Nc(9, "into the void\n"), Is.Empty, "discard");
        Assert.That(Nc(13, "\n"), Does.Match(@"^\w+day, \w+ \d{1,2}, \d{4} \d\d:\d\d:\d\d-UTC\r\n$"), "daytime");
        var chargen = Nc(19, "\n");
        Assert.That(chargen.Length, Is.LessThanOrEqualTo(512), "chargen");
        Assert.That(chargen.All(c => c is >= ' ' and <= '~' or '\r' or '\n'), Is.True, "chargen sends printable ASCII");
        Assert.That(daemons.Answered, Is.GreaterThanOrEqualTo(3));
    }

    [Test]
    public void Ustack_ping_reaches_the_host_side_through_a_raw_socket()
    {
        var (tap, ns) = TapFixture.NewNames();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { UstackCli.Dll, "ping", "--tap", tap, "--ip", "10.90.0.2/24", "--host-ip", "10.90.0.1/24", "--netns", ns, "-c", "3", "-i", "0.2", "10.90.0.1" })
            info.ArgumentList.Add(a);
        using var ping = Process.Start(info)!;
        var output = ping.StandardOutput.ReadToEndAsync();
        var errors = ping.StandardError.ReadToEndAsync();
        Assert.That(ping.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        TestContext.Out.WriteLine(output.Result);
        Assert.That(ping.ExitCode, Is.Zero, errors.Result);
        Assert.That(output.Result, Does.Contain("3 packets transmitted, 3 received, 0% packet loss"));
        Assert.That(output.Result, Does.Contain("bytes from 10.90.0.1: icmp_seq=1 ttl=64"));
        Assert.That(NetworkNamespace.Exists(ns), Is.False);
    }
}
