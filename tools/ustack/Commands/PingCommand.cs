using System.CommandLine;
using System.Globalization;
using UserStack.Drivers;
using UserStack.Drivers.Tap;
using UserStack.Sockets.Apps;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Tools.Commands;

/// <summary>`ustack ping`: bring the stack up on a TAP and ping from inside it through a raw socket.</summary>
public static class PingCommand
{
    public static Command Create()
    {
        var scene = new SceneArguments();
        var target = new Argument<string>("address") { Description = "the IPv4 address to ping" };
        var count = new Option<int>("--count", "-c") { Description = "echo requests to send", DefaultValueFactory = _ => 4 };
        var size = new Option<int>("--size", "-s") { Description = "bytes of data per request", DefaultValueFactory = _ => 56 };
        var interval = new Option<double>("--interval", "-i") { Description = "seconds between requests", DefaultValueFactory = _ => 1.0 };
        var timeout = new Option<double>("--timeout", "-W") { Description = "seconds to wait for each reply", DefaultValueFactory = _ => 2.0 };
        var command = new Command("ping", "Ping an address from inside UserStack (a raw ICMP socket), like ping(8)") { target, count, size, interval, timeout };
        scene.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            SceneOptions options;
            Ipv4Address address;
            try
            {
                options = scene.Read(result);
                address = Ipv4Address.Parse(result.GetValue(target)!);
            }
            catch (FormatException e) { Console.Error.WriteLine($"ustack ping: {e.Message}"); return Task.FromResult(2); }
            int n = result.GetValue(count), bytes = result.GetValue(size);
            if (n < 1 || bytes < 0 || bytes > options.Mtu - 28) { Console.Error.WriteLine($"ustack ping: count must be at least 1 and size between 0 and {options.Mtu - 28}"); return Task.FromResult(2); }
            return Task.FromResult(Run(options, address, n, bytes, TimeSpan.FromSeconds(result.GetValue(interval)), TimeSpan.FromSeconds(result.GetValue(timeout)), Console.Out, cancel));
        });
        return command;
    }

    public static int Run(SceneOptions options, Ipv4Address target, int count, int size, TimeSpan interval, TimeSpan timeout, TextWriter output, CancellationToken cancel)
    {
        if (!TapScene.IsAvailable(options, out var reason)) { Console.Error.WriteLine($"ustack ping: {reason}"); return 2; }
        TapScene scene;
        try { scene = TapScene.Start(options); }
        catch (Exception e) when (e is DeviceUnavailableException or ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"ustack ping: {e.Message}");
            return 2;
        }
        using (scene)
        {
            var inv = CultureInfo.InvariantCulture;
            output.WriteLine($"PING {target} ({target}) {size}({size + 28}) bytes of data.");
            var summary = new Pinger(scene.Host).Run(target, count, size, interval, timeout,
                r => output.WriteLine(string.Format(inv, "{0} bytes from {1}: icmp_seq={2} ttl={3} time={4:0.###} ms", r.Bytes, r.From, r.Sequence, r.TimeToLive, r.RoundTrip.TotalMilliseconds)),
                seq => output.WriteLine($"no answer yet for icmp_seq={seq}"),
                cancel);
            output.WriteLine();
            output.WriteLine($"--- {target} ping statistics ---");
            output.WriteLine(string.Format(inv, "{0} packets transmitted, {1} received, {2:0.#}% packet loss, time {3:0}ms", summary.Transmitted, summary.Received, summary.LossPercent, summary.Elapsed.TotalMilliseconds));
            if (summary.Replies.Count > 0)
            {
                var rtts = summary.Replies.Select(r => r.RoundTrip.TotalMilliseconds).ToArray();
                double avg = rtts.Average();
                double mdev = Math.Sqrt(rtts.Select(x => (x - avg) * (x - avg)).Average());
                output.WriteLine(string.Format(inv, "rtt min/avg/max/mdev = {0:0.000}/{1:0.000}/{2:0.000}/{3:0.000} ms", rtts.Min(), avg, rtts.Max(), mdev));
            }
            return summary.Received > 0 ? 0 : 1;
        }
    }
}
