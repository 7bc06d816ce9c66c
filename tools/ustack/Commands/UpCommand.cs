using System.CommandLine;
using System.Runtime.InteropServices;
using UserStack.Drivers;
using UserStack.Drivers.Tap;
using UserStack.Sockets.Daemons;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Tools.Commands;

/// <summary>`ustack up`: run the stack on a TAP until SIGINT/SIGTERM.</summary>
public static class UpCommand
{
    public static Command Create()
    {
        var scene = new SceneArguments();
        var daemons = new Option<string?>("--daemons") { Description = "start these services on the stack (UDP and TCP): echo,discard,daytime,chargen,http or all" };
        var command = new Command("up", "Run UserStack on a TAP device until interrupted");
        scene.AddTo(command);
        command.Options.Add(daemons);
        command.SetAction((result, cancel) =>
        {
            SceneOptions options;
            IReadOnlyList<DaemonKind> kinds;
            try
            {
                options = scene.Read(result);
                kinds = result.GetValue(daemons) is { } d ? DaemonKinds.Parse(d) : [];
            }
            catch (FormatException e) { return Fail(e.Message); }
            return Task.FromResult(Run(options, kinds, cancel));
        });
        return command;
    }

    private static Task<int> Fail(string message)
    {
        Console.Error.WriteLine($"ustack up: {message}");
        return Task.FromResult(2);
    }

    public static int Run(SceneOptions options, IReadOnlyList<DaemonKind> daemons, CancellationToken cancel)
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
            UdpDaemons? udp = null;
            TcpDaemons? tcp = null;
            try
            {
                udp = daemons.Count > 0 ? new UdpDaemons(scene.Host, daemons) : null;
                tcp = daemons.Count > 0 ? new TcpDaemons(scene.Host, daemons) : null;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                Console.Error.WriteLine($"ustack up: cannot start daemons: {e.Message}");
                return 2;
            }
            var s = scene.Stack.Options;
            Console.WriteLine($"ready ip={s.Address} mac={s.HardwareAddress} tap={scene.Device.Name} mtu={s.Mtu}" +
                              (options.HostAddress is { } h ? $" host-ip={h}" : "") +
                              (scene.Namespace is { } ns ? $" netns={ns.Name}" : "") +
                              (daemons.Count > 0 ? $" daemons={DaemonKinds.Describe(daemons)}" : "") +
                              (scene.Faults is { } f ? $" faults={f.Faults}" : "") +
                              $" tcp={s.Tcp.CongestionControl}{(s.Tcp.SelectiveAcknowledgments ? ",sack" : "")}{(s.Tcp.Timestamps ? ",timestamps" : "")}{(s.Tcp.WindowScaling ? ",wscale" : "")}");
            Console.Out.Flush();
            stop.Wait();
            tcp?.Dispose();
            udp?.Dispose();
        }
        Console.WriteLine("stopped; counters:");
        Console.WriteLine(scene.Stack.Counters.ToString());
        if (scene.Faults is { } faults) Console.WriteLine($"link faults [{faults.Faults}]\n  towards the stack: {faults.Received}\n  from the stack:    {faults.Sent}");
        if (scene.Host.InternalErrors > 0) Console.WriteLine($"internal errors: {scene.Host.InternalErrors} (last: {scene.Host.LastInternalError?.Message})");
        return 0;
    }
}
