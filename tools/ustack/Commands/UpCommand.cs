using System.CommandLine;
using System.Runtime.InteropServices;
using UserStack.AspNetCore;
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
        var daemons = new Option<string?>("--daemons") { Description = "start these services on the stack (UDP and TCP): echo,discard,daytime,chargen,http or all; aspnet adds ASP.NET Core (Kestrel) on port 8080, e.g. all,aspnet" };
        var ioNice = new Option<int>("--io-nice")
        {
            Description = "nice value (-20..19) of the threads that read, write and time frames, as the kernel's stack runs ahead of processes; needs root, else ignored (default -10; 0 leaves them as any thread)",
            DefaultValueFactory = _ => -10,
        };
        var command = new Command("up", "Run UserStack on a TAP device until interrupted");
        scene.AddTo(command);
        command.Options.Add(daemons);
        command.Options.Add(ioNice);
        command.SetAction((result, cancel) =>
        {
            SceneOptions options;
            DaemonSelection selection;
            try
            {
                options = scene.Read(result);
                selection = result.GetValue(daemons) is { } d ? DaemonSelection.Parse(d) : DaemonSelection.None;
            }
            catch (FormatException e) { return Fail(e.Message); }
            if (result.GetValue(ioNice) is not (>= -20 and <= 19) and var nice) return Fail($"--io-nice takes -20 to 19, not {nice}");
            IoThreadPriority.Nice = result.GetValue(ioNice) is 0 ? null : result.GetValue(ioNice);
            return Task.FromResult(Run(options, selection.Classic, cancel, selection.AspNet));
        });
        return command;
    }

    private static Task<int> Fail(string message)
    {
        Console.Error.WriteLine($"ustack up: {message}");
        return Task.FromResult(2);
    }

    private const PosixSignal SigUsr1 = (PosixSignal)10; // a raw Linux signal number, as PosixSignalRegistration allows

    /// <summary>"counters at UPTIME:", every nonzero counter and drop reason, then "end of counters".</summary>
    private static void PrintCounters(TapScene scene)
    {
        string text;
        lock (scene.Host.Gate)
        {
            // Memory held now, beside the counters (a flood's caps are checked against these).
            var reassembly = scene.Stack.Ipv4.Reassembler;
            text = scene.Stack.Counters.ToString()
                   + $"\nIpv4ReassemblyMemory             {reassembly.Memory}\nIpv4ReassemblyMemoryCap          {reassembly.Options.MaxMemory}";
        }
        lock (Console.Out) Console.Out.Write($"counters at {scene.Host.Uptime.TotalSeconds:0.000} s:\n{text}\nend of counters\n");
        Console.Out.Flush();
    }

    public static int Run(SceneOptions options, IReadOnlyList<DaemonKind> daemons, CancellationToken cancel, bool aspnet = false)
    {
        if (!TapScene.IsAvailable(options, out var reason))
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
            Microsoft.AspNetCore.Builder.WebApplication? web = null;
            try
            {
                udp = daemons.Count > 0 ? new UdpDaemons(scene.Host, daemons) : null;
                tcp = daemons.Count > 0 ? new TcpDaemons(scene.Host, daemons) : null;
                if (aspnet)
                {
                    web = WebDemo.Build(scene.Host, WebDemo.DefaultPort);
                    web.StartAsync(cancel).GetAwaiter().GetResult();
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
            {
                Console.Error.WriteLine($"ustack up: cannot start daemons: {e.Message}");
                tcp?.Dispose();
                udp?.Dispose();
                return 2;
            }
            using var control = Control.UpControl.Start(scene); // ustack netstat/top; the socket file goes when up ends
            var described = string.Join(",", new[] { daemons.Count > 0 ? DaemonKinds.Describe(daemons) : null, aspnet ? $"aspnet/{WebDemo.DefaultPort}" : null }.OfType<string>());
            var s = scene.Stack.Options;
            Console.WriteLine($"ready ip={s.Address} mac={s.HardwareAddress} {(options.PcapDevice is null ? "tap" : "pcap-device")}={scene.Device.Name} mtu={s.Mtu}" +
                              (options.HostAddress is { } h ? $" host-ip={h}" : "") +
                              (scene.Namespace is { } ns ? $" netns={ns.Name}" : "") +
                              string.Concat(scene.MoreLinks.Select(l => $" link={l.Name}:{l.Address}:{l.HardwareAddress}:mtu{l.Mtu}")) +
                              (s.Forwarding ? " forward=on" : "") +
                              (described.Length > 0 ? $" daemons={described}" : "") +
                              (scene.Faults is { } f ? $" faults={f.Faults}" : "") +
                              (options.BusyPollMicroseconds is { } spin ? $" busy-poll={spin}us" : "") +
                              (options.PcapDevice is null ? $" offload={(scene.Stack.Primary.SegmentationOffload ? "tso4,csum" : "off")}" : "") +
                              $" tcp={s.Tcp.CongestionControl}{(s.Tcp.SelectiveAcknowledgments ? ",sack" : "")}{(s.Tcp.Timestamps ? ",timestamps" : "")}{(s.Tcp.WindowScaling ? ",wscale" : "")}");
            Console.Out.Flush();
            if (options.Offload && !scene.Stack.Primary.SegmentationOffload && options.PcapDevice is null)
                Console.Error.WriteLine($"ustack up: note: TAP offloads {scene.OffloadState}");
            // SIGUSR1 prints the counters so far (tools/attack.sh reads them between attacks); the stack runs on.
            using var usr1 = PosixSignalRegistration.Create(SigUsr1, c => { c.Cancel = true; PrintCounters(scene); });
            stop.Wait();
            if (web is not null)
            {
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try { web.StopAsync(grace.Token).GetAwaiter().GetResult(); } catch (OperationCanceledException) { }
                web.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            tcp?.Dispose();
            udp?.Dispose();
        }
        Console.WriteLine("stopped; counters:");
        Console.WriteLine(scene.Stack.Counters.ToString());
        if (scene.Device is Drivers.Pcap.PcapLiveDevice pcap)
            Console.WriteLine($"pcap device {pcap.Name}: {pcap.FramesRead} frames read, {pcap.FramesWritten} written, {pcap.OwnFramesIgnored} of our own read back and ignored, {pcap.WriteErrors} write errors{(pcap.ReadError is { } re ? $"; reader stopped: {re}" : "")}");
        if (scene.Faults is { } faults) Console.WriteLine($"link faults [{faults.Faults}]\n  towards the stack: {faults.Received}\n  from the stack:    {faults.Sent}");
        if (scene.Host.InternalErrors > 0) Console.WriteLine($"internal errors: {scene.Host.InternalErrors} (last: {scene.Host.LastInternalError?.Message})");
        return 0;
    }
}

/// <summary>What `--daemons` asks for: the classic services (DaemonKinds: a list or "all") and, by the name aspnet, the ASP.NET Core demo.</summary>
public readonly record struct DaemonSelection(IReadOnlyList<DaemonKind> Classic, bool AspNet)
{
    public static DaemonSelection None => new([], false);

    /// <summary>"all", "echo,http", "aspnet", "all,aspnet": all stays the classic set and combines with aspnet.</summary>
    public static DaemonSelection Parse(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool aspnet = parts.Any(p => p.Equals("aspnet", StringComparison.OrdinalIgnoreCase));
        var classic = new List<DaemonKind>();
        foreach (var p in parts.Where(p => !p.Equals("aspnet", StringComparison.OrdinalIgnoreCase)))
        {
            IReadOnlyList<DaemonKind> kinds;
            try { kinds = DaemonKinds.Parse(p); }
            catch (FormatException e) { throw new FormatException(e.Message.Replace(", or all)", ", aspnet, or all)")); }
            foreach (var k in kinds) if (!classic.Contains(k)) classic.Add(k);
        }
        if (!aspnet && classic.Count == 0) throw new FormatException($"--daemons '{text}' names no daemon");
        return new(classic, aspnet);
    }
}
