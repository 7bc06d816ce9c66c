using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UserStack.Drivers.Faults;
using UserStack.Sockets.Daemons;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>
/// The Linux kernel as the peer over a lossy link built by the fault middleware (this kernel has
/// no netem): UserStack's TCP on a faulty TAP, and two kernels across the faulty two-TAP bridge.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class LossyLinkInteropTests
{
    private const int TenMegabytes = 10 * 1024 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [SetUp]
    public void RequireRoot() => Root.Require("ping");

    [Test]
    public void Ten_megabytes_each_way_through_echo_survive_one_percent_loss_with_delay_and_reordering()
    {
        var (tap, ns) = TapFixture.NewNames();
        var faults = LinkFaults.Parse("loss=1%,delay=2ms,jitter=1ms,reorder=0.5%,dup=0.1%,seed=5681");
        using var scene = TapScene.Start(new SceneOptions
        {
            TapName = tap,
            Namespace = ns,
            StackAddress = TapFixture.StackAddress,
            HostAddress = TapFixture.HostAddress,
            Faults = faults,
        });
        using var daemons = new TcpDaemons(scene.Host, [DaemonKind.Echo]);
        var data = RandomNumberGenerator.GetBytes(TenMegabytes);
        var clock = Stopwatch.StartNew();
        var (back, finished) = scene.Namespace!.RunInside(() =>
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 30000, SendTimeout = 30000 };
            s.Connect(new IPEndPoint(TapFixture.StackAddress.Address.ToIPAddress(), 7));
            var received = new MemoryStream();
            var reader = Task.Run(() =>
            {
                var buffer = new byte[65536];
                int n;
                while ((n = s.Receive(buffer)) > 0) received.Write(buffer, 0, n);
            });
            for (int at = 0; at < data.Length && clock.Elapsed < Bound; at += 65536) s.Send(data, at, Math.Min(65536, data.Length - at), SocketFlags.None);
            s.Shutdown(SocketShutdown.Send);
            var left = Bound - clock.Elapsed;
            bool done = reader.Wait(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (!done) s.Close(); // unblocks the reader, so the test ends within the bound
            return (received.ToArray(), done);
        });
        var link = scene.Faults!;
        TestContext.Out.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s, {back.Length} of {data.Length} bytes back over [{faults}]");
        TestContext.Out.WriteLine($"towards the stack: {link.Received}\nfrom the stack:    {link.Sent}");
        Assert.That(finished, Is.True, $"echo did not finish within {Bound.TotalSeconds} s ({back.Length} bytes back)");
        Assert.That(back.Length, Is.EqualTo(data.Length));
        Assert.That(SHA256.HashData(back), Is.EqualTo(SHA256.HashData(data)));
        Assert.That(link.Received.Lost, Is.GreaterThan(0), "the link really lost frames towards the stack");
        Assert.That(link.Sent.Lost, Is.GreaterThan(0), "and from it");
        Assert.That(scene.Host.InternalErrors, Is.Zero, scene.Host.LastInternalError?.ToString());
    }

    [Test]
    public void Two_kernels_ping_and_move_five_megabytes_across_the_lossy_bridge()
    {
        var (tap, ns) = TapFixture.NewNames();
        var faults = LinkFaults.Parse("loss=1%,delay=5ms,seed=7");
        using var bridge = TapBridge.Start(new BridgeOptions
        {
            NamespaceA = ns + "a",
            NamespaceB = ns + "b",
            TapA = tap + "a",
            TapB = tap + "b",
            Faults = faults,
        });
        var target = bridge.Options.AddressB.Address.ToString();
        var ping = PingResult.Parse(bridge.A.Exec(TimeSpan.FromSeconds(20), "ping", "-c", "20", "-i", "0.05", "-W", "2", target).Output);
        Assert.That(ping.Received, Is.GreaterThanOrEqualTo(15), ping.Output);
        Assert.That(ping.RttAverageMs, Is.GreaterThanOrEqualTo(10), "5 ms each way: " + ping.Output);

        var data = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        using var listener = bridge.B.ListenTcp(5201);
        var serving = Task.Run(() =>
        {
            using var c = listener.Accept();
            c.ReceiveTimeout = 30000;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[65536];
            int n;
            while ((n = c.Receive(buffer)) > 0) sha.AppendData(buffer, 0, n);
            return sha.GetHashAndReset();
        });
        bridge.A.RunInside(() =>
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendTimeout = 30000 };
            s.Connect(new IPEndPoint(IPAddress.Parse(target), 5201));
            s.Send(data);
            s.Shutdown(SocketShutdown.Send);
            return 0;
        });
        Assert.That(serving.Wait(Bound), Is.True, "the transfer did not finish");
        Assert.That(serving.Result, Is.EqualTo(SHA256.HashData(data)));
        TestContext.Out.WriteLine(bridge);
        Assert.That(bridge.Faults!.Received.Lost, Is.GreaterThan(0), "frames from A to B were lost on the way");
    }

    [Test]
    public void The_bridge_removes_its_namespaces()
    {
        var (tap, ns) = TapFixture.NewNames();
        var bridge = TapBridge.Start(new BridgeOptions { NamespaceA = ns + "a", NamespaceB = ns + "b", TapA = tap + "a", TapB = tap + "b" });
        var ping = PingResult.Parse(bridge.A.Exec(TimeSpan.FromSeconds(10), "ping", "-c", "2", "-i", "0.2", "-W", "2", bridge.Options.AddressB.Address.ToString()).Output);
        bridge.Dispose();
        Assert.That(ping.AllAnswered, Is.True, ping.Output);
        Assert.That(NetworkNamespace.Exists(ns + "a") || NetworkNamespace.Exists(ns + "b"), Is.False);
    }
}
