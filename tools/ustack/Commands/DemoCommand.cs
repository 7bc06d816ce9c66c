using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Text;
using UserStack.Sockets.Apps;
using UserStack.Sockets.Daemons;
using UserStack.Diagnostics;
using UserStack.Drivers;
using UserStack.Drivers.Tap;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Tools.Commands;

/// <summary>
/// `ustack demo`: builds the whole scene in a private namespace (TAP, addresses), runs the
/// stack, talks to it from the host side's kernel, prints what happened, and tears it all
/// down. Exits 0 only if every check passed. Later capabilities add their checks here.
/// </summary>
public static class DemoCommand
{
    public static readonly Ipv4Cidr StackAddress = Ipv4Cidr.Parse("10.77.0.2/24");
    public static readonly Ipv4Cidr HostAddress = Ipv4Cidr.Parse("10.77.0.1/24");

    public static Command Create()
    {
        var keep = new Option<string?>("--pcap") { Description = "also write every frame to this pcapng file, with a comment on each saying why" };
        var command = new Command("demo", "Build a private namespace with a TAP, run UserStack on it, and check it from the host side") { keep };
        command.SetAction((result, _) => Task.FromResult(Run(Console.Out, result.GetValue(keep))));
        return command;
    }

    public static int Run(TextWriter output, string? pcapPath = null)
    {
        if (!File.Exists("/dev/net/tun") && Environment.UserName == "root") Shell.Run("modprobe", "tun");
        if (!TapDevice.IsAvailable(out var reason))
        {
            output.WriteLine($"ustack demo: {reason}");
            return 2;
        }
        if (!Prerequisites.Ensure(output, out var missing, "ip", "ping"))
        {
            output.WriteLine($"ustack demo: {missing}");
            return 2;
        }

        int id = Environment.ProcessId;
        var options = new SceneOptions
        {
            TapName = $"usdemo{id % 100000}",
            Namespace = $"ustack-demo-{id}",
            StackAddress = StackAddress,
            HostAddress = HostAddress,
            PcapPath = pcapPath,
            Offload = true, // as ustack up: checksum and segmentation offloads where the kernel grants them
        };

        var checks = new List<(string Name, bool Passed, string Detail)>();
        output.WriteLine($"UserStack demo: stack {StackAddress} on TAP {options.TapName}; the host side is {HostAddress} in namespace {options.Namespace}");
        TapScene scene;
        try { scene = TapScene.Start(options); }
        catch (Exception e) when (e is DeviceUnavailableException or InvalidOperationException or ArgumentException)
        {
            output.WriteLine($"ustack demo: could not build the scene: {e.Message}");
            return 1;
        }

        using (scene)
        {
            var mac = scene.Stack.Options.HardwareAddress;
            string target = StackAddress.Address.ToString();
            output.WriteLine($"stack up: mac {mac}, TAP offloads {scene.OffloadState}");

            // 1. The kernel resolves us by ARP and pings get answers.
            output.WriteLine($"\n$ ip netns exec {options.Namespace} ping -c 5 -i 0.2 {target}");
            var ping = PingResult.Parse(scene.HostExec(TimeSpan.FromSeconds(15), "ping", "-c", "5", "-i", "0.2", "-W", "2", target).Output);
            output.Write(Indent(ping.Output));
            checks.Add(("ICMP echo: 5 pings answered", ping.AllAnswered, $"{ping.Received}/{ping.Transmitted} received"));

            var neigh = scene.HostExec(TimeSpan.FromSeconds(5), "ip", "neigh", "show", target).Output.Trim();
            output.WriteLine($"\n$ ip neigh show {target}\n  {neigh}");
            checks.Add(("ARP: the kernel learned the stack's MAC", neigh.Contains(mac.ToString(), StringComparison.OrdinalIgnoreCase), neigh));

            // 2. Every size up to the MTU comes back intact (ping checks the data itself).
            foreach (var size in new[] { 0, 1, 100, 1000, 1472 })
            {
                var r = PingResult.Parse(scene.HostExec(TimeSpan.FromSeconds(10), "ping", "-c", "1", "-W", "2", "-s", size.ToString(), "-p", "a5", target).Output);
                checks.Add(($"ICMP echo with {size} bytes of data", r.AllAnswered, r.WrongData ? "payload differed" : $"{r.Received}/{r.Transmitted} received"));
            }

            // 3. A burst: 200 pings 5 ms apart, none lost.
            var burst = PingResult.Parse(scene.HostExec(TimeSpan.FromSeconds(20), "ping", "-q", "-c", "200", "-i", "0.005", "-W", "2", target).Output);
            checks.Add(("200 pings at 5 ms intervals, none lost", burst.AllAnswered, $"{burst.Received}/{burst.Transmitted} received, avg rtt {burst.RttAverageMs} ms"));

            // 4. UDP: the daemons answer System.Net.Sockets clients on the host side.
            using (var daemons = new UdpDaemons(scene.Host, DaemonKinds.All))
            {
                var ns = scene.Namespace!;
                output.WriteLine($"\nUDP daemons up: {DaemonKinds.Describe(daemons.Kinds)}");
                var echo = ns.RunInside(() => UdpExchange(StackAddress.Address, 7, "hello, UserStack"u8.ToArray()));
                checks.Add(("UDP echo (port 7) answers a kernel socket", echo.Reply == "hello, UserStack", echo.Detail));
                var day = ns.RunInside(() => UdpExchange(StackAddress.Address, 13, []));
                output.WriteLine($"  daytime says: {day.Reply?.TrimEnd()}");
                checks.Add(("UDP daytime (port 13) tells the time", day.Reply?.EndsWith("-UTC\r\n") == true, day.Detail));
                var closed = ns.RunInside(() => UdpExchange(StackAddress.Address, 9999, [1]));
                checks.Add(("a closed UDP port refuses (ICMP port unreachable)", closed.Error == SocketError.ConnectionRefused, closed.Detail));
            }

            // 5. TCP: echo and the HTTP page, from kernel sockets on the host side.
            using (var tcpDaemons = new TcpDaemons(scene.Host, DaemonKinds.All))
            {
                var ns = scene.Namespace!;
                output.WriteLine($"\nTCP daemons up: {DaemonKinds.Describe(tcpDaemons.Kinds)}");
                var echo = ns.RunInside(() => TcpExchange(StackAddress.Address, 7, "hello over TCP\n"));
                checks.Add(("TCP echo (port 7) answers a kernel connection", echo.Reply == "hello over TCP\n", echo.Detail));
                var page = ns.RunInside(() => TcpExchange(StackAddress.Address, 80, $"GET / HTTP/1.1\r\nHost: {StackAddress.Address}\r\nConnection: close\r\n\r\n"));
                var firstLine = page.Reply?.Split("\r\n")[0];
                output.WriteLine($"  GET http://{StackAddress.Address}/ -> {firstLine} ({page.Reply?.Length ?? 0} bytes)");
                checks.Add(("HTTP: the page about the stack is served", firstLine == "HTTP/1.1 200 OK" && page.Reply!.Contains("UserStack at " + StackAddress), page.Detail));
                var refused = ns.RunInside(() => TcpExchange(StackAddress.Address, 4444, "x"));
                checks.Add(("a closed TCP port refuses (RST)", refused.Error == SocketError.ConnectionRefused, refused.Detail));
            }

            // 6. From inside the stack: ping the host side through a raw socket.
            var fromStack = new Pinger(scene.Host).Run(HostAddress.Address, 3, 56, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2));
            output.WriteLine($"\nustack ping {HostAddress.Address}: {fromStack.Received}/{fromStack.Transmitted} answered" +
                             (fromStack.Replies.Count > 0 ? $", avg {fromStack.Replies.Average(r => r.RoundTrip.TotalMilliseconds):0.000} ms" : ""));
            checks.Add(("the stack pings the host (raw ICMP socket)", fromStack.Received == fromStack.Transmitted, $"{fromStack.Received}/{fromStack.Transmitted}"));

            var counters = scene.Stack.Counters;
            checks.Add(("the stack answered every echo it counted", counters[Counter.IcmpEchoRepliesSent] == counters[Counter.IcmpEchoRequestsReceived], $"{counters[Counter.IcmpEchoRequestsReceived]} requests, {counters[Counter.IcmpEchoRepliesSent]} replies"));
            checks.Add(("no internal errors", scene.Host.InternalErrors == 0, scene.Host.LastInternalError?.Message ?? "none"));

            output.WriteLine("\nstack counters:");
            output.WriteLine(Indent(counters.ToString()));
        }

        output.WriteLine("\nchecks:");
        foreach (var (name, passed, detail) in checks)
            output.WriteLine($"  {(passed ? "PASS" : "FAIL")}  {name} ({detail})");
        int failed = checks.Count(c => !c.Passed);
        output.WriteLine(failed == 0
            ? $"\ndemo passed: {checks.Count} checks; namespace {options.Namespace} and TAP {options.TapName} removed"
            : $"\ndemo FAILED: {failed} of {checks.Count} checks failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>A connected kernel UDP socket: send one datagram, wait 2 s for one answer.</summary>
    private static (string? Reply, SocketError? Error, string Detail) UdpExchange(Ipv4Address address, int port, byte[] payload)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 2000 };
        try
        {
            client.Connect(new IPEndPoint(address.ToIPAddress(), port));
            client.Send(payload);
            var buffer = new byte[2048];
            int n = client.Receive(buffer);
            var text = Encoding.ASCII.GetString(buffer, 0, n);
            return (text, null, $"{n} bytes back");
        }
        catch (SocketException e) { return (null, e.SocketErrorCode, e.SocketErrorCode.ToString()); }
    }

    /// <summary>A kernel TCP connection: send a request, half-close, read everything until the server closes.</summary>
    private static (string? Reply, SocketError? Error, string Detail) TcpExchange(Ipv4Address address, int port, string request)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000, SendTimeout = 5000 };
        try
        {
            client.Connect(new IPEndPoint(address.ToIPAddress(), port));
            client.Send(Encoding.ASCII.GetBytes(request));
            client.Shutdown(SocketShutdown.Send);
            var reply = new MemoryStream();
            var buffer = new byte[8192];
            int n;
            while ((n = client.Receive(buffer)) > 0) reply.Write(buffer, 0, n);
            return (Encoding.UTF8.GetString(reply.ToArray()), null, $"{reply.Length} bytes back");
        }
        catch (SocketException e) { return (null, e.SocketErrorCode, e.SocketErrorCode.ToString()); }
    }

    private static string Indent(string text) => string.Concat(text.TrimEnd().Split('\n').Select(l => "  " + l + "\n"));
}
