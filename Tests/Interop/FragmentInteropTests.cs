using System.Net;
using System.Net.Sockets;
using UserStack.Diagnostics;
using UserStack.Sockets.Daemons;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>IPv4 fragmentation and reassembly (RFC 791 3.2) against the Linux kernel over a TAP in a private namespace.</summary>
[Category("Interop")]
[NonParallelizable]
public class FragmentInteropTests
{
    private static string Target => TapFixture.StackAddress.Address.ToString();
    private static IPAddress Stack => TapFixture.StackAddress.Address.ToIPAddress();

    [SetUp]
    public void RequireRoot() => Root.Require("ping");

    /// <summary>`ping -s 65507`: the kernel fragments the request, we reassemble it and fragment the reply, the kernel reassembles that.</summary>
    [Test]
    public void Ping_of_65507_bytes_is_answered()
    {
        using var scene = TapFixture.Start();
        var r = PingResult.Parse(scene.HostExec(TimeSpan.FromSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "3", "-s", "65507", "-p", "a55a", Target).Output);
        Assert.That(r.AllAnswered, Is.True, r.Output);
        Assert.That(r.WrongData, Is.False);
        Assert.That(scene.Stack.Counters[Counter.Ipv4Reassembled], Is.EqualTo(3));
        Assert.That(scene.Stack.Counters[Counter.Ipv4FragmentsSent], Is.EqualTo(3 * 45));
        Assert.That(scene.Stack.Ipv4.Reassembler.Memory, Is.Zero);
    }

    /// <summary>The largest UDP datagram, 65,507 bytes, to the stack's echo daemon and back, and sizes around the MTU.</summary>
    [Test]
    public void Udp_datagrams_up_to_65507_bytes_are_echoed_both_ways()
    {
        using var scene = TapFixture.Start();
        using var daemons = new UdpDaemons(scene.Host, [DaemonKind.Echo]);
        int[] sizes = [65507, 1473, 1480, 1481, 2953, 8000, 30000, 65507];
        var failures = scene.Namespace!.RunInside(() =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 3000 };
            client.Connect(new IPEndPoint(Stack, 7));
            var random = new Random(65507);
            var received = new byte[65536];
            var problems = new List<string>();
            foreach (int size in sizes)
            {
                var payload = new byte[size];
                random.NextBytes(payload);
                client.Send(payload);
                try
                {
                    int n = client.Receive(received);
                    if (!received.AsSpan(0, n).SequenceEqual(payload)) problems.Add($"{size}: {n} bytes back, content differs");
                }
                catch (SocketException e) { problems.Add($"{size}: {e.SocketErrorCode}"); }
            }
            return problems;
        });
        Assert.That(failures, Is.Empty);
        // The daemon counts an answer after its send returns; the echo can reach the client first.
        Assert.That(() => daemons.Answered, Is.EqualTo(sizes.Length).After(2000, 10));
        Assert.That(scene.Stack.Counters[Counter.Ipv4Reassembled], Is.EqualTo(sizes.Length));
    }
}
