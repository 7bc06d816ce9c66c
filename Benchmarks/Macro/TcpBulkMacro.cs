using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using UserStack.Drivers.Tap;
using UserStack.Sockets.Api;
using UserStack.Sockets.Daemons;
using UserStack.Tools.Scene;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Benchmarks.Macro;

/// <summary>
/// TCP bulk throughput over the TAP at MTU 1500, host to stack and stack to host, printed beside
/// two references from the same run: the raw TAP frame ceiling (a reader that only counts
/// 1514-byte frames the kernel writes) and kernel to kernel over a veth pair with offloads off.
/// Every phase is bounded in time; everything lives in namespaces made here and removed after.
/// </summary>
public static class TcpBulkMacro
{
    public static int Run(TimeSpan duration)
    {
        if (!TapDevice.IsAvailable(out var reason)) { Console.Error.WriteLine($"tcp-bulk: {reason}"); return 2; }
        int id = Environment.ProcessId % 10000;
        var rows = new List<(string Name, double Gbps, string Note)>();

        rows.Add(RawTapCeiling(id, duration));
        var (toStack, fromStack) = OverTheStack(id, duration);
        rows.Add(toStack);
        rows.Add(fromStack);
        rows.Add(KernelOverVeth(id, duration));

        Console.WriteLine();
        Console.WriteLine($"| {"path",-44} | {"Gbit/s",7} | {"note",-40} |");
        Console.WriteLine($"|{new string('-', 46)}|{new string('-', 9)}|{new string('-', 42)}|");
        foreach (var r in rows) Console.WriteLine($"| {r.Name,-44} | {r.Gbps,7:0.000} | {r.Note,-40} |");
        double ceiling = rows[0].Gbps;
        Console.WriteLine($"\nhost->stack is {rows[1].Gbps / ceiling:P0} of the TAP frame ceiling; stack->host {rows[2].Gbps / ceiling:P0}; kernel veth is {rows[3].Gbps / ceiling:0.0}x the ceiling");
        return 0;
    }

    /// <summary>The kernel floods 1472-byte UDP datagrams at a neighbour behind the TAP; a bare reader counts the frames.</summary>
    private static (string, double, string) RawTapCeiling(int id, TimeSpan duration)
    {
        using var ns = NetworkNamespace.Create($"usbulk-{Environment.ProcessId}-raw");
        using var tap = TapDevice.Open($"usraw{id}");
        ns.Adopt(tap.Name);
        ns.Ip("addr", "add", "10.93.0.1/24", "dev", tap.Name);
        ns.Ip("link", "set", tap.Name, "up");
        ns.Ip("neigh", "add", "10.93.0.2", "lladdr", "02:00:00:00:93:02", "dev", tap.Name);
        long frames = 0, bytes = 0;
        tap.Start(f => { frames++; bytes += f.Length; });
        var sent = ns.RunInside(() =>
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Connect(new IPEndPoint(IPAddress.Parse("10.93.0.2"), 9));
            var payload = new byte[1472];
            var clock = Stopwatch.StartNew();
            long n = 0;
            while (clock.Elapsed < duration) { s.Send(payload); n++; }
            return (n, clock.Elapsed);
        });
        Thread.Sleep(100);
        double seconds = sent.Elapsed.TotalSeconds;
        long counted = Interlocked.Read(ref frames);
        return ("raw TAP frame ceiling (reader counts frames)", Interlocked.Read(ref bytes) * 8 / seconds / 1e9, $"{counted / seconds:N0} frames/s, {counted * 100.0 / Math.Max(sent.n, 1):0}% of sent");
    }

    private static ((string, double, string), (string, double, string)) OverTheStack(int id, TimeSpan duration)
    {
        using var scene = TapScene.Start(new SceneOptions
        {
            TapName = $"usbulk{id}",
            Namespace = $"usbulk-{Environment.ProcessId}-stack",
            StackAddress = Ipv4Cidr.Parse("10.94.0.2/24"),
            HostAddress = Ipv4Cidr.Parse("10.94.0.1/24"),
        });
        using var daemons = new TcpDaemons(scene.Host, [DaemonKind.Discard]);

        // Host to stack: a kernel socket writes into the discard daemon.
        var toStack = scene.Namespace!.RunInside(() =>
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendTimeout = 10000 };
            s.Connect(new IPEndPoint(IPAddress.Parse("10.94.0.2"), 9));
            return Blast(s.Send, duration);
        });

        // Stack to host: a UserStack socket writes into a kernel sink.
        using var sink = scene.Namespace!.ListenTcp(5001);
        var draining = Task.Run(() =>
        {
            using var c = sink.Accept();
            var buffer = new byte[1 << 16];
            long total = 0;
            int n;
            while ((n = c.Receive(buffer)) > 0) total += n;
            return total;
        });
        using var client = UserSocket.Tcp(scene.Host);
        client.Connect(new Endpoint(Ipv4Address.Parse("10.94.0.1"), 5001));
        var fromStack = Blast(b => client.Send(b), duration);
        client.Shutdown(SocketShutdown.Send);
        draining.Wait(TimeSpan.FromSeconds(30));
        return (("UserStack: host kernel -> stack (discard)", toStack.Gbps, toStack.Note),
                ("UserStack: stack -> host kernel (sink)", fromStack.Gbps, fromStack.Note));
    }

    /// <summary>Kernel to kernel across veth with TSO/GSO/GRO and checksum offloads off (ethtool), same write loop.</summary>
    private static (string, double, string) KernelOverVeth(int id, TimeSpan duration)
    {
        using var a = NetworkNamespace.Create($"usbulk-{Environment.ProcessId}-va");
        using var b = NetworkNamespace.Create($"usbulk-{Environment.ProcessId}-vb");
        string va = $"ubka{id}", vb = $"ubkb{id}";
        a.Ip("link", "add", va, "type", "veth", "peer", "name", vb, "netns", b.Name);
        a.Ip("addr", "add", "10.95.0.1/24", "dev", va);
        b.Ip("addr", "add", "10.95.0.2/24", "dev", vb);
        a.Ip("link", "set", va, "up");
        b.Ip("link", "set", vb, "up");
        string note = "offloads off";
        foreach (var (ns, dev) in new[] { (a, va), (b, vb) })
        {
            var r = ns.Exec(TimeSpan.FromSeconds(10), "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off");
            if (!r.Succeeded) note = "offloads ON (ethtool missing)";
        }
        using var listener = b.ListenTcp(5002);
        var draining = Task.Run(() =>
        {
            using var c = listener.Accept();
            var buffer = new byte[1 << 16];
            while (c.Receive(buffer) > 0) { }
        });
        var result = a.RunInside(() =>
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(new IPEndPoint(IPAddress.Parse("10.95.0.2"), 5002));
            var r = Blast(s.Send, duration);
            s.Shutdown(SocketShutdown.Send);
            return r;
        });
        draining.Wait(TimeSpan.FromSeconds(30));
        return ("kernel -> kernel over veth, MTU 1500", result.Gbps, note);
    }

    private static (double Gbps, string Note) Blast(Func<byte[], int> send, TimeSpan duration)
    {
        var chunk = new byte[64 * 1024];
        new Random(1).NextBytes(chunk);
        long total = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration) total += send(chunk);
        double seconds = clock.Elapsed.TotalSeconds;
        return (total * 8 / seconds / 1e9, $"{total / 1e6:0} MB in {seconds:0.0} s");
    }
}
