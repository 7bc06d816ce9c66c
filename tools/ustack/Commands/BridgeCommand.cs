using System.CommandLine;
using System.Runtime.InteropServices;
using UserStack.Drivers;
using UserStack.Drivers.Faults;
using UserStack.Drivers.Tap;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Tools.Commands;

/// <summary>`ustack bridge`: two kernels in namespaces of their own, joined through the fault middleware, until SIGINT/SIGTERM.</summary>
public static class BridgeCommand
{
    public static Command Create()
    {
        int id = Environment.ProcessId;
        var netnsA = new Option<string>("--netns-a") { Description = "namespace for side A (created here, deleted on exit)", DefaultValueFactory = _ => $"usbridge-{id}-a" };
        var netnsB = new Option<string>("--netns-b") { Description = "namespace for side B (created here, deleted on exit)", DefaultValueFactory = _ => $"usbridge-{id}-b" };
        var ipA = new Option<string>("--ip-a") { Description = "side A's address", DefaultValueFactory = _ => "10.96.0.1/24" };
        var ipB = new Option<string>("--ip-b") { Description = "side B's address", DefaultValueFactory = _ => "10.96.0.2/24" };
        var tapA = new Option<string>("--tap-a") { Description = "TAP name for side A", DefaultValueFactory = _ => $"usbra{id % 100000}" };
        var tapB = new Option<string>("--tap-b") { Description = "TAP name for side B", DefaultValueFactory = _ => $"usbrb{id % 100000}" };
        var mtu = new Option<int>("--mtu") { Description = "IP MTU of both TAPs", DefaultValueFactory = _ => 1500 };
        var faults = new Option<string?>("--faults") { Description = "what the link does each way: e.g. loss=1%,delay=10ms,jitter=1ms,dup=0.1%,reorder=0.5%,seed=7" };
        var command = new Command("bridge", "Join two kernels, each in a namespace of its own, by two TAPs and a lossy copy loop (a netem stand-in)")
            { netnsA, netnsB, ipA, ipB, tapA, tapB, mtu, faults };
        command.SetAction((result, cancel) =>
        {
            BridgeOptions options;
            try
            {
                options = new BridgeOptions
                {
                    NamespaceA = result.GetValue(netnsA)!,
                    NamespaceB = result.GetValue(netnsB)!,
                    TapA = result.GetValue(tapA)!,
                    TapB = result.GetValue(tapB)!,
                    AddressA = Ipv4Cidr.Parse(result.GetValue(ipA)!),
                    AddressB = Ipv4Cidr.Parse(result.GetValue(ipB)!),
                    Mtu = result.GetValue(mtu),
                    Faults = result.GetValue(faults) is { } f ? LinkFaults.Parse(f) : null,
                };
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"ustack bridge: {e.Message}");
                return Task.FromResult(2);
            }
            return Task.FromResult(Run(options, cancel));
        });
        return command;
    }

    public static int Run(BridgeOptions options, CancellationToken cancel)
    {
        if (!TapDevice.IsAvailable(out var reason)) { Console.Error.WriteLine($"ustack bridge: {reason}"); return 2; }
        TapBridge bridge;
        try { bridge = TapBridge.Start(options); }
        catch (Exception e) when (e is DeviceUnavailableException or ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"ustack bridge: {e.Message}");
            return 2;
        }
        using var stop = new ManualResetEventSlim();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        using var onCancel = cancel.Register(stop.Set);
        using (bridge)
        {
            Console.WriteLine($"ready a={bridge.A.Name}:{options.AddressA} b={bridge.B.Name}:{options.AddressB} mtu={options.Mtu}" +
                              (options.Faults is { } f ? $" faults={f}" : ""));
            Console.WriteLine($"try: ip netns exec {bridge.B.Name} iperf3 -s -1 -D; ip netns exec {bridge.A.Name} iperf3 -c {options.AddressB.Address} -n 20M -C reno");
            Console.Out.Flush();
            stop.Wait();
        }
        Console.WriteLine($"stopped; namespaces {options.NamespaceA} and {options.NamespaceB} removed");
        Console.WriteLine(bridge);
        return 0;
    }
}
