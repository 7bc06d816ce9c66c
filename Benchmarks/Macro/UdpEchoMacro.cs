using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using UserStack.Sockets.Daemons;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Benchmarks.Macro;

/// <summary>
/// UDP echo round trips per second from a kernel socket on the host side: to UserStack's echo
/// daemon over the TAP, and, in the same run, to the same echo loop on kernel sockets in a second
/// namespace across a veth pair. One datagram in flight at a time; bounded in time.
/// </summary>
public static class UdpEchoMacro
{
    public static int Run(TimeSpan duration, int payload)
    {
        if (!Drivers.Tap.TapDevice.IsAvailable(out var reason)) { Console.Error.WriteLine($"udp-echo: {reason}"); return 2; }
        int id = Environment.ProcessId;
        var stackAddress = Ipv4Cidr.Parse("10.91.0.2/24");
        using var scene = TapScene.Start(new SceneOptions
        {
            TapName = $"usbench{id % 10000}",
            Namespace = $"usbench-{id}-a",
            StackAddress = stackAddress,
            HostAddress = Ipv4Cidr.Parse("10.91.0.1/24"),
        });
        using var daemons = new UdpDaemons(scene.Host, [DaemonKind.Echo]);
        var client = scene.Namespace!;

        // The reference: a second namespace behind a veth pair, running the same echo loop on kernel sockets.
        using var server = NetworkNamespace.Create($"usbench-{id}-b");
        string va = $"ubva{id % 10000}", vb = $"ubvb{id % 10000}";
        client.Ip("link", "add", va, "type", "veth", "peer", "name", vb, "netns", server.Name);
        client.Ip("addr", "add", "10.91.1.1/24", "dev", va);
        client.Ip("link", "set", va, "up");
        server.Ip("addr", "add", "10.91.1.2/24", "dev", vb);
        server.Ip("link", "set", vb, "up");
        using var kernelEcho = server.RunInside(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Any, 7));
            return s;
        });
        var echoThread = new Thread(() =>
        {
            var buffer = new byte[65536];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            try { while (true) { int n = kernelEcho.ReceiveFrom(buffer, ref from); kernelEcho.SendTo(buffer, n, SocketFlags.None, from); } }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }) { IsBackground = true };
        echoThread.Start();

        Console.WriteLine($"UDP echo, {payload}-byte datagrams, one in flight, {duration.TotalSeconds:0} s each, from a kernel socket in namespace {client.Name}");
        var results = new List<(string Name, double PerSecond, double MicrosecondsPerTrip)>();
        foreach (var round in new[] { 1, 2 })
        {
            results.Add(Measure($"UserStack over TAP (round {round})", client, IPAddress.Parse(stackAddress.Address.ToString()), duration, payload));
            results.Add(Measure($"kernel over veth (round {round})", client, IPAddress.Parse("10.91.1.2"), duration, payload));
        }
        kernelEcho.Close();

        Console.WriteLine();
        Console.WriteLine($"| {"target",-32} | {"round trips/s",14} | {"µs/trip",8} |");
        Console.WriteLine($"|{new string('-', 34)}|{new string('-', 16)}|{new string('-', 10)}|");
        foreach (var r in results) Console.WriteLine($"| {r.Name,-32} | {r.PerSecond,14:N0} | {r.MicrosecondsPerTrip,8:0.0} |");
        double ours = results.Where(r => r.Name.StartsWith("UserStack")).Average(r => r.PerSecond);
        double kernel = results.Where(r => r.Name.StartsWith("kernel")).Average(r => r.PerSecond);
        Console.WriteLine($"\nratio UserStack / kernel: {ours / kernel:0.00}");
        client.Ip("link", "del", va);
        return 0;
    }

    private static (string, double, double) Measure(string name, NetworkNamespace ns, IPAddress target, TimeSpan duration, int payload)
    {
        return ns.RunInside(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 1000 };
            socket.Connect(new IPEndPoint(target, 7));
            var request = new byte[payload];
            var reply = new byte[65536];
            // Warm up: ARP, JIT, caches.
            for (int i = 0; i < 2000; i++) { socket.Send(request); socket.Receive(reply); }
            long trips = 0, lost = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration)
            {
                socket.Send(request);
                try { socket.Receive(reply); trips++; }
                catch (SocketException) { lost++; }
            }
            double seconds = clock.Elapsed.TotalSeconds;
            if (lost > 0) Console.WriteLine($"  {name}: {lost} datagrams lost");
            return (name, trips / seconds, seconds * 1e6 / Math.Max(trips, 1));
        });
    }
}
