using System.Globalization;
using System.Net;
using System.Net.Sockets;
using UserStack.Drivers.Faults;
using UserStack.Drivers.Tap;
using UserStack.Sockets.Api;
using UserStack.Tools.Scene;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Benchmarks.Macro;

/// <summary>
/// Goodput of one bulk transfer over a lossy link at several loss rates, with the same delay
/// each way: kernel to UserStack and UserStack to kernel over a TAP wrapped in the fault
/// middleware, then kernel to kernel through the two-TAP bridge with the same faults and seed
/// (the reference, since this kernel has no netem). Every run gets a fresh link, so each starts
/// the seed's decisions from frame one; every run is bounded in bytes and time; everything lives
/// in namespaces made here and removed after.
/// </summary>
public static class LossyGoodputMacro
{
    public sealed record Settings
    {
        public long Bytes { get; init; } = 20L << 20;
        public double[] LossPercents { get; init; } = [0, 1, 3];
        public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(10);
        public int Seed { get; init; } = 1;
        public string CongestionControl { get; init; } = "newreno";
        /// <summary>Per transfer; a run that has not finished by then reports what arrived.</summary>
        public TimeSpan Limit { get; init; } = TimeSpan.FromSeconds(60);

        /// <summary>Reads <c>mb=20 loss=0,1,3 delay=10ms seed=1 cc=newreno limit=60s</c>, any subset, any order.</summary>
        public static Settings Parse(IEnumerable<string> arguments)
        {
            var s = new Settings();
            var inv = CultureInfo.InvariantCulture;
            foreach (var a in arguments)
            {
                var (key, value) = a.IndexOf('=') is > 0 and var eq ? (a[..eq], a[(eq + 1)..]) : throw new FormatException($"'{a}' is not KEY=VALUE (keys: mb, loss, delay, seed, cc, limit)");
                s = key switch
                {
                    "mb" => s with { Bytes = (long)(double.Parse(value, inv) * (1 << 20)) },
                    "loss" => s with { LossPercents = value.Split(',').Select(v => double.Parse(v.TrimEnd('%'), inv)).ToArray() },
                    "delay" => s with { Delay = LinkFaults.Parse($"delay={value}").Delay },
                    "seed" => s with { Seed = int.Parse(value, inv) },
                    "cc" => s with { CongestionControl = value },
                    "limit" => s with { Limit = LinkFaults.Parse($"delay={value}").Delay },
                    _ => throw new FormatException($"unknown setting '{key}' (keys: mb, loss, delay, seed, cc, limit)"),
                };
            }
            if (s.Bytes <= 0 || s.LossPercents.Length == 0 || s.LossPercents.Any(l => l is < 0 or >= 100) || s.Limit <= TimeSpan.Zero)
                throw new FormatException("mb must be positive, loss a list of percentages below 100, limit positive");
            return s;
        }
    }

    private sealed record Row(double Loss, string Direction, TransferResult Stack, TransferResult Kernel, string Link);

    public static int Run(Settings settings)
    {
        if (!TapDevice.IsAvailable(out var reason)) { Console.Error.WriteLine($"lossy-goodput: {reason}"); return 2; }
        CongestionControlChoice cc;
        try { cc = CongestionControlChoice.For(settings.CongestionControl); }
        catch (ArgumentException e) { Console.Error.WriteLine($"lossy-goodput: {e.Message}"); return 2; }
        Console.WriteLine($"lossy goodput: {settings.Bytes / 1048576.0:0.#} MiB per transfer, {settings.Delay.TotalMilliseconds:0.#} ms each way, seed {settings.Seed}, at most {settings.Limit.TotalSeconds:0} s each");
        Console.WriteLine($"congestion control '{cc.Name}': {cc.StackNote}");

        var rows = new List<Row>();
        foreach (var loss in settings.LossPercents)
        {
            var faults = new LinkFaults { Loss = loss / 100, Delay = settings.Delay, Seed = settings.Seed };
            Console.WriteLine($"\n[{faults}]");
            var toStack = Measure("kernel -> UserStack", () => KernelToStack(settings, faults, cc));
            var toKernelB = Measure("kernel A -> kernel B (bridge)", () => KernelToKernel(settings, faults, cc, fromA: true));
            var fromStack = Measure("UserStack -> kernel", () => StackToKernel(settings, faults, cc));
            var toKernelA = Measure("kernel B -> kernel A (bridge)", () => KernelToKernel(settings, faults, cc, fromA: false));
            rows.Add(new Row(loss, "kernel -> UserStack", toStack.Result, toKernelB.Result, $"{toStack.Link}; bridge {toKernelB.Link}"));
            rows.Add(new Row(loss, "UserStack -> kernel", fromStack.Result, toKernelA.Result, $"{fromStack.Link}; bridge {toKernelA.Link}"));
        }

        Console.WriteLine();
        Console.WriteLine($"| loss | {"direction",-20} | UserStack Mbit/s | kernel<->kernel Mbit/s | ratio | note");
        Console.WriteLine($"|------|{new string('-', 22)}|------------------|-----------------------|-------|-----");
        foreach (var r in rows)
        {
            var note = r.Stack.Complete && r.Kernel.Complete ? "" : $"{(r.Stack.Complete ? "" : "UserStack " + r.Stack)} {(r.Kernel.Complete ? "" : "kernel " + r.Kernel)}".Trim();
            Console.WriteLine($"| {r.Loss,3:0.#}% | {r.Direction,-20} | {r.Stack.Mbps,16:0.00} | {r.Kernel.Mbps,21:0.00} | {r.Stack.Mbps / r.Kernel.Mbps,5:0.00} | {note}");
        }
        Console.WriteLine($"\nratio = UserStack / kernel-to-kernel over the same faults ({cc.StackNote}; kernel {cc.KernelName}).");
        return rows.All(r => r.Stack.Complete && r.Kernel.Complete) ? 0 : 1;
    }

    private static (TransferResult Result, string Link) Measure(string name, Func<(TransferResult, string)> run)
    {
        var (result, link) = run();
        Console.WriteLine($"  {name,-30} {result.Mbps,9:0.00} Mbit/s  {result}  ({link})");
        return (result, link);
    }

    private static readonly Ipv4Cidr StackAddress = Ipv4Cidr.Parse("10.98.0.2/24");
    private static readonly Ipv4Cidr HostAddress = Ipv4Cidr.Parse("10.98.0.1/24");
    private static int runs;

    private static TapScene Scene(LinkFaults faults, CongestionControlChoice cc)
    {
        int n = Interlocked.Increment(ref runs);
        var scene = TapScene.Start(new SceneOptions
        {
            TapName = $"uslg{Environment.ProcessId % 10000}x{n}",
            Namespace = $"uslossy-{Environment.ProcessId}-{n}",
            StackAddress = StackAddress,
            HostAddress = HostAddress,
            Faults = faults,
            Tcp = cc.StackOptions,
        });
        return scene;
    }

    /// <summary>A kernel socket on the host side writes into a UserStack socket that only counts.</summary>
    private static (TransferResult, string) KernelToStack(Settings settings, LinkFaults faults, CongestionControlChoice cc)
    {
        using var scene = Scene(faults, cc);
        using var listener = UserSocket.Tcp(scene.Host);
        listener.Bind(new Endpoint(StackAddress.Address, 5001));
        listener.Listen(4);
        var transfer = new BoundedTransfer(settings.Bytes, settings.Limit);
        var sink = transfer.StartSink(() =>
        {
            var c = listener.Accept();
            c.ReceiveTimeout = settings.Limit;
            return (c, b => c.Receive(b));
        });
        var kernel = scene.Namespace!.RunInside(() =>
        {
            using var s = KernelSocket(settings.Limit);
            var note = cc.ApplyTo(s);
            s.Connect(new IPEndPoint(StackAddress.Address.ToIPAddress(), 5001));
            transfer.Send((b, o, n) => s.Send(b, o, n, SocketFlags.None), () => s.Shutdown(SocketShutdown.Send));
            return note;
        });
        var result = transfer.Finish(sink, listener);
        return (result, $"lost {scene.Faults!.Received.Lost} data-way, {scene.Faults.Sent.Lost} ack-way; {Retransmissions(scene)}; {kernel}");
    }

    /// <summary>A UserStack socket writes into a kernel socket on the host side that only counts.</summary>
    private static (TransferResult, string) StackToKernel(Settings settings, LinkFaults faults, CongestionControlChoice cc)
    {
        using var scene = Scene(faults, cc);
        using var listener = scene.Namespace!.ListenTcp(5002);
        var kernel = cc.ApplyTo(listener);
        var transfer = new BoundedTransfer(settings.Bytes, settings.Limit);
        var sink = transfer.StartSink(() =>
        {
            var c = listener.Accept();
            c.ReceiveTimeout = (int)settings.Limit.TotalMilliseconds;
            cc.ApplyTo(c);
            return (c, b => c.Receive(b));
        });
        using (var client = UserSocket.Tcp(scene.Host))
        {
            client.SendTimeout = settings.Limit;
            client.Connect(new Endpoint(HostAddress.Address, 5002));
            transfer.Send((b, o, n) => client.Send(b.AsSpan(o, n)), () => client.Shutdown(SocketShutdown.Send));
            var result = transfer.Finish(sink, listener);
            return (result, $"lost {scene.Faults!.Sent.Lost} data-way, {scene.Faults.Received.Lost} ack-way; {Retransmissions(scene)}; {kernel}");
        }
    }

    /// <summary>The reference: kernel sockets on both sides of the lossy bridge. A's side of the bridge is faulted as the host side of the TAP is.</summary>
    private static (TransferResult, string) KernelToKernel(Settings settings, LinkFaults faults, CongestionControlChoice cc, bool fromA)
    {
        int n = Interlocked.Increment(ref runs);
        int id = Environment.ProcessId % 10000;
        using var bridge = TapBridge.Start(new BridgeOptions
        {
            NamespaceA = $"uslossy-{Environment.ProcessId}-{n}a",
            NamespaceB = $"uslossy-{Environment.ProcessId}-{n}b",
            TapA = $"uslg{id}x{n}a",
            TapB = $"uslg{id}x{n}b",
            Faults = faults,
        });
        var (sender, receiver, to) = fromA ? (bridge.A, bridge.B, bridge.Options.AddressB) : (bridge.B, bridge.A, bridge.Options.AddressA);
        using var listener = receiver.ListenTcp(5003);
        cc.ApplyTo(listener);
        var transfer = new BoundedTransfer(settings.Bytes, settings.Limit);
        var sink = transfer.StartSink(() =>
        {
            var c = listener.Accept();
            c.ReceiveTimeout = (int)settings.Limit.TotalMilliseconds;
            cc.ApplyTo(c);
            return (c, b => c.Receive(b));
        });
        var note = sender.RunInside(() =>
        {
            using var s = KernelSocket(settings.Limit);
            var kernel = cc.ApplyTo(s);
            s.Connect(new IPEndPoint(to.Address.ToIPAddress(), 5003));
            transfer.Send((b, o, count) => s.Send(b, o, count, SocketFlags.None), () => s.Shutdown(SocketShutdown.Send));
            return kernel;
        });
        var result = transfer.Finish(sink, listener);
        var (data, acks) = fromA ? (bridge.Faults!.Received, bridge.Faults!.Sent) : (bridge.Faults!.Sent, bridge.Faults!.Received);
        return (result, $"lost {data.Lost} data-way, {acks.Lost} ack-way; {note}");
    }

    private static Socket KernelSocket(TimeSpan limit) =>
        new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendTimeout = (int)limit.TotalMilliseconds, ReceiveTimeout = (int)limit.TotalMilliseconds };

    private static string Retransmissions(TapScene scene)
    {
        var c = scene.Stack.Counters;
        return $"UserStack: {c[Diagnostics.Counter.TcpRetransmissions]} retransmitted, {c[Diagnostics.Counter.TcpFastRetransmissions]} fast retransmits, {c[Diagnostics.Counter.TcpTimeouts]} timeouts";
    }
}
