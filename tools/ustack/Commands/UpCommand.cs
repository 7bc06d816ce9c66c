using System.CommandLine;
using System.Runtime.InteropServices;
using UserStack.Drivers;
using UserStack.Drivers.Tap;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Tools.Commands;

/// <summary>`ustack up`: run the stack on a TAP until SIGINT/SIGTERM.</summary>
public static class UpCommand
{
    public static Command Create()
    {
        var tap = new Option<string>("--tap") { Description = "TAP interface to create or attach to", Required = true };
        var ip = new Option<string>("--ip") { Description = "the stack's address and prefix, e.g. 10.0.0.2/24", Required = true };
        var hostIp = new Option<string?>("--host-ip") { Description = "address for the kernel's side of the TAP, e.g. 10.0.0.1/24" };
        var netns = new Option<string?>("--netns") { Description = "move the TAP into this network namespace (created if missing) and configure the host side there" };
        var gateway = new Option<string?>("--gateway") { Description = "default gateway for off-link destinations" };
        var mac = new Option<string?>("--mac") { Description = "the stack's MAC address (default: random, locally administered)" };
        var mtu = new Option<int>("--mtu") { Description = "IP MTU of the link", DefaultValueFactory = _ => 1500 };
        var pcap = new Option<string?>("--pcap") { Description = "write every frame in and out to this pcap file" };
        var trace = new Option<bool>("--trace") { Description = "print every frame, drop and ARP change as it happens" };

        var command = new Command("up", "Run UserStack on a TAP device until interrupted") { tap, ip, hostIp, netns, gateway, mac, mtu, pcap, trace };
        command.SetAction((result, cancel) =>
        {
            SceneOptions options;
            try
            {
                options = new SceneOptions
                {
                    TapName = result.GetValue(tap)!,
                    StackAddress = Ipv4Cidr.Parse(result.GetValue(ip)!),
                    HostAddress = result.GetValue(hostIp) is { } h ? Ipv4Cidr.Parse(h) : null,
                    Namespace = result.GetValue(netns),
                    Gateway = result.GetValue(gateway) is { } g ? Ipv4Address.Parse(g) : null,
                    Mac = result.GetValue(mac) is { } m ? MacAddress.Parse(m) : null,
                    Mtu = result.GetValue(mtu),
                    PcapPath = result.GetValue(pcap),
                    Trace = result.GetValue(trace) ? new ConsoleTrace(Console.Out) : null,
                    AllowHostNamespace = true, // the user asked for it (a note is printed)
                };
            }
            catch (FormatException e) { return Fail(e.Message); }
            return Task.FromResult(Run(options, cancel));
        });
        return command;
    }

    private static Task<int> Fail(string message)
    {
        Console.Error.WriteLine($"ustack up: {message}");
        return Task.FromResult(2);
    }

    public static int Run(SceneOptions options, CancellationToken cancel)
    {
        if (!TapDevice.IsAvailable(out var reason))
        {
            Console.Error.WriteLine($"ustack up: {reason}");
            return 2;
        }
        if (options.Namespace is null && options.HostAddress is not null)
            Console.Error.WriteLine($"ustack up: note: configuring {options.HostAddress} on {options.TapName} in the current network namespace (use --netns to keep it private)");

        TapScene scene;
        try { scene = TapScene.Start(options); }
        catch (Exception e) when (e is DeviceUnavailableException or ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"ustack up: {e.Message}");
            return 2;
        }

        using var stop = new ManualResetEventSlim();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        using var onCancel = cancel.Register(stop.Set);
        using (scene)
        {
            var s = scene.Stack.Options;
            Console.WriteLine($"ready ip={s.Address} mac={s.HardwareAddress} tap={scene.Device.Name} mtu={s.Mtu}" +
                              (options.HostAddress is { } h ? $" host-ip={h}" : "") +
                              (scene.Namespace is { } ns ? $" netns={ns.Name}" : ""));
            Console.Out.Flush();
            stop.Wait();
        }
        Console.WriteLine("stopped; counters:");
        Console.WriteLine(scene.Stack.Counters.ToString());
        if (scene.Host.InternalErrors > 0) Console.WriteLine($"internal errors: {scene.Host.InternalErrors} (last: {scene.Host.LastInternalError?.Message})");
        return 0;
    }
}
