using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UserStack.Sockets.Api;
using UserStack.Sockets.Daemons;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;
using UserStack.Transport;

namespace UserStack.Tests.Interop;

/// <summary>TCP against the Linux kernel over a real TAP in a private namespace.</summary>
[Category("Interop")]
[NonParallelizable]
public class TcpInteropTests
{
    private const int TenMegabytes = 10 * 1024 * 1024;
    private static IPAddress Stack => TapFixture.StackAddress.Address.ToIPAddress();

    [SetUp]
    public void RequireRoot() => Root.Require();

    private static Socket Connect(int port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 20000, SendTimeout = 20000 };
        s.Connect(new IPEndPoint(Stack, port));
        return s;
    }

    [Test]
    public void Ten_megabytes_through_echo_come_back_identical()
    {
        using var scene = TapFixture.Start();
        using var daemons = new TcpDaemons(scene.Host, [DaemonKind.Echo]);
        var data = RandomNumberGenerator.GetBytes(TenMegabytes);
        var back = scene.Namespace!.RunInside(() =>
        {
            using var s = Connect(7);
            var received = new MemoryStream();
            var reader = Task.Run(() =>
            {
                var buffer = new byte[65536];
                int n;
                while ((n = s.Receive(buffer)) > 0) received.Write(buffer, 0, n);
            });
            for (int at = 0; at < data.Length; at += 65536) s.Send(data, at, Math.Min(65536, data.Length - at), SocketFlags.None);
            s.Shutdown(SocketShutdown.Send);
            Assert.That(reader.Wait(TimeSpan.FromSeconds(120)), Is.True, "echo did not finish");
            return received.ToArray();
        });
        Assert.That(SHA256.HashData(back), Is.EqualTo(SHA256.HashData(data)));
    }

    [Test]
    public void Ten_megabytes_into_discard_complete()
    {
        using var scene = TapFixture.Start();
        using var daemons = new TcpDaemons(scene.Host, [DaemonKind.Discard]);
        var sent = scene.Namespace!.RunInside(() =>
        {
            using var s = Connect(9);
            var chunk = RandomNumberGenerator.GetBytes(65536);
            long total = 0;
            while (total < TenMegabytes) total += s.Send(chunk);
            s.Shutdown(SocketShutdown.Send);
            return (total, s.Receive(new byte[1]));
        });
        Assert.That(sent.total, Is.GreaterThanOrEqualTo(TenMegabytes));
        Assert.That(sent.Item2, Is.Zero, "discard closes after our FIN");
        Assert.That(scene.Stack.Counters[Diagnostics.Counter.TcpReceived], Is.GreaterThan(TenMegabytes / 1460));
    }

    [Test]
    public void Ten_megabytes_from_chargen_match_the_rfc_864_pattern()
    {
        using var scene = TapFixture.Start();
        using var daemons = new TcpDaemons(scene.Host, [DaemonKind.Chargen]);
        var received = scene.Namespace!.RunInside(() =>
        {
            using var s = Connect(19);
            var all = new byte[TenMegabytes];
            int at = 0;
            while (at < all.Length)
            {
                int n = s.Receive(all, at, all.Length - at, SocketFlags.None);
                if (n == 0) break;
                at += n;
            }
            return all[..at];
        });
        var expected = new byte[TenMegabytes];
        var turn = DaemonKinds.Chargen(95 * 74);
        for (int at = 0; at < expected.Length; at += turn.Length) turn.AsSpan(0, Math.Min(turn.Length, expected.Length - at)).CopyTo(expected.AsSpan(at));
        Assert.That(received.Length, Is.EqualTo(TenMegabytes));
        Assert.That(SHA256.HashData(received), Is.EqualTo(SHA256.HashData(expected)));
    }

    [Test]
    public void A_hundred_concurrent_connections_each_echo_their_own_data()
    {
        using var scene = TapFixture.Start();
        using var daemons = new TcpDaemons(scene.Host, [DaemonKind.Echo]);
        var sockets = scene.Namespace!.RunInside(() => Enumerable.Range(0, 100).Select(_ => Connect(7)).ToList());
        try
        {
            Parallel.ForEach(Enumerable.Range(0, 100), new ParallelOptions { MaxDegreeOfParallelism = 16 }, i =>
            {
                var payload = RandomNumberGenerator.GetBytes(20_000 + i);
                var s = sockets[i];
                s.Send(payload);
                s.Shutdown(SocketShutdown.Send);
                var back = new MemoryStream();
                var buffer = new byte[8192];
                int n;
                while ((n = s.Receive(buffer)) > 0) back.Write(buffer, 0, n);
                Assert.That(back.ToArray(), Is.EqualTo(payload), $"connection {i}");
            });
        }
        finally { foreach (var s in sockets) s.Dispose(); }
        Assert.That(daemons.Connections, Is.EqualTo(100));
    }

    [Test]
    public void A_userstack_client_talks_to_a_kernel_server()
    {
        using var scene = TapFixture.Start();
        using var server = scene.Namespace!.ListenTcp(5555);
        var serving = Task.Run(() =>
        {
            using var c = server.Accept();
            var buffer = new byte[65536];
            int n;
            long total = 0;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            while ((n = c.Receive(buffer)) > 0) { sha.AppendData(buffer, 0, n); total += n; }
            var digest = sha.GetHashAndReset();
            c.Send(digest);
            return total;
        });
        var data = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        using var client = UserSocket.Tcp(scene.Host);
        client.ReceiveTimeout = TimeSpan.FromSeconds(30);
        client.Connect(new Endpoint(TapFixture.HostAddress.Address, 5555));
        client.Send(data);
        client.Shutdown(SocketShutdown.Send);
        var digest = new byte[32];
        int got = 0;
        while (got < 32) { int n = client.Receive(digest.AsSpan(got)); if (n == 0) break; got += n; }
        Assert.That(serving.Wait(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(serving.Result, Is.EqualTo(data.Length));
        Assert.That(digest, Is.EqualTo(SHA256.HashData(data)), "the kernel received every byte in order");
    }

    [Test]
    public void A_kernel_connect_to_a_closed_stack_port_is_refused()
    {
        using var scene = TapFixture.Start();
        var error = scene.Namespace!.RunInside(() =>
        {
            try { using var s = Connect(4321); return SocketError.Success; }
            catch (SocketException e) { return e.SocketErrorCode; }
        });
        Assert.That(error, Is.EqualTo(SocketError.ConnectionRefused));
    }

    [Test]
    public void Curl_fetches_the_page_and_nc_talks_to_echo()
    {
        Root.Require("curl", "nc");
        using var scene = TapFixture.Start();
        using var daemons = new TcpDaemons(scene.Host, DaemonKinds.All);
        var page = scene.HostExec(TimeSpan.FromSeconds(20), "curl", "-sS", "--max-time", "10", $"http://{Stack}/");
        Assert.That(page.ExitCode, Is.Zero, page.Error);
        Assert.That(page.Output, Does.Contain($"UserStack at {TapFixture.StackAddress}"));
        Assert.That(page.Output, Does.Contain("TcpReceived"));
        var twice = scene.HostExec(TimeSpan.FromSeconds(20), "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{num_connects} %{http_code}\\n", $"http://{Stack}/", $"http://{Stack}/");
        Assert.That(twice.Output, Does.Contain("1 200").And.Contain("0 200"), "keep-alive: the second request reuses the connection");

        var path = Path.GetTempFileName();
        File.WriteAllText(path, "hello nc\n");
        try
        {
            var echo = scene.HostExec(TimeSpan.FromSeconds(20), "sh", "-c", $"nc -N -w 5 {Stack} 7 < {path}");
            Assert.That(echo.Output, Is.EqualTo("hello nc\n"), echo.Error);
        }
        finally { File.Delete(path); }
    }
}
