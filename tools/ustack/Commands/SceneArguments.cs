using System.CommandLine;
using UserStack.Drivers.Faults;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Tools.Commands;

/// <summary>The options that describe a TAP scene, shared by `up` and `ping`.</summary>
public sealed class SceneArguments
{
    public Option<string[]> Tap { get; } = new("--tap") { Description = "TAP interface to create or attach to (this or --pcap-device); repeat --tap NAME --ip ADDR/LEN for more links of the same stack" };
    public Option<string?> PcapDevice { get; } = new("--pcap-device") { Description = "attach to this existing interface through pcap instead of a TAP (promiscuous, the stack's own MAC), e.g. one end of a veth pair" };
    public Option<string[]> Ip { get; } = new("--ip") { Description = "the stack's address and prefix, e.g. 10.0.0.2/24; one per --tap", Required = true };
    public Option<string[]> HostIp { get; } = new("--host-ip") { Description = "address for the kernel's side of the TAP, e.g. 10.0.0.1/24; with several TAPs, one per TAP" };
    public Option<string[]> Netns { get; } = new("--netns") { Description = "move the TAP into this network namespace (created if missing) and configure the host side there; with several TAPs, one for all or one per TAP" };
    public Option<string?> Gateway { get; } = new("--gateway") { Description = "default gateway for off-link destinations" };
    public Option<string[]> Mac { get; } = new("--mac") { Description = "the stack's MAC address (default: random, locally administered); with several TAPs, one per TAP" };
    public Option<int[]> Mtu { get; } = new("--mtu") { Description = "IP MTU of the link (default 1500); with several TAPs, one for all or one per TAP" };
    public Option<bool> Forward { get; } = new("--forward") { Description = "forward IPv4 between the stack's links (RFC 1812: TTL, time exceeded, fragmentation or frag-needed); off by default, as a host" };
    public Option<string?> Pcap { get; } = new("--pcap") { Description = "write every frame in and out to this pcapng FILE (a capture; --pcap-device is the link), each with a comment saying why it was sent or what became of it" };
    public Option<string?> Trace { get; } = new("--trace")
    {
        Description = "print every frame (tcpdump -n style) and every state change, timer, drop and ARP change with its reason; optional filter, comma-separated: tcp,udp,icmp,arp,port=N,host=A.B.C.D,events",
        Arity = ArgumentArity.ZeroOrOne,
    };
    public Option<string> TraceFormat { get; } = new("--trace-format") { Description = "text (coloured on a terminal) or json (one object per line)", DefaultValueFactory = _ => "text" };
    public Option<string?> Faults { get; } = new("--faults") { Description = "make the TAP a lossy link, both ways: e.g. loss=1%,delay=10ms,jitter=1ms,dup=0.1%,reorder=0.5%,seed=7" };
    public Option<string> Congestion { get; } = new("--congestion") { Description = "TCP congestion control of new connections: cubic (default) or newreno", DefaultValueFactory = _ => "cubic" };
    public Option<string?> TcpOff { get; } = new("--tcp-off") { Description = "TCP options not to offer or accept, comma-separated: sack,timestamps,wscale" };
    public Option<bool> NoOffload { get; } = new("--no-offload") { Description = "do not ask the TAP for checksum and TCP segmentation offloads (IFF_VNET_HDR, TSO4): every frame is one MTU-sized segment both ways, and the stack checks every checksum" };
    public Option<int?> BusyPoll { get; } = new("--busy-poll") { Description = "MICROSECONDS the TAP reader keeps polling an empty queue before it sleeps (default 50; like net.core.busy_poll: longer than the gap between frames, no frame waits for a wake-up, and a core stays busy)" };
    public Option<string> EphemeralPorts { get; } = new("--ephemeral-ports") { Description = "range of automatically chosen local ports, FIRST-LAST", DefaultValueFactory = _ => "49152-65535" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Tap, PcapDevice, Ip, HostIp, Netns, Gateway, Mac, Mtu, Forward, Pcap, Trace, TraceFormat, EphemeralPorts, Faults, Congestion, TcpOff, NoOffload, BusyPoll }) command.Options.Add(o);
    }

    /// <summary>The scene these options describe; FormatException with the offending text when one is malformed.</summary>
    public SceneOptions Read(ParseResult result)
    {
        var taps = result.GetValue(Tap) ?? [];
        var pcapDevice = result.GetValue(PcapDevice);
        if ((taps.Length == 0) == (pcapDevice is null)) throw new FormatException("give the link: either --tap NAME or --pcap-device IFACE");
        int links = Math.Max(taps.Length, 1);
        var ips = result.GetValue(Ip) ?? [];
        if (ips.Length != links) throw new FormatException($"give one --ip per link: {links} link(s), {ips.Length} --ip");
        var hosts = PerLink(result.GetValue(HostIp), links, "--host-ip", allowOne: false);
        var spaces = PerLink(result.GetValue(Netns), links, "--netns", allowOne: true);
        var macs = PerLink(result.GetValue(Mac), links, "--mac", allowOne: false);
        var mtus = PerLink(result.GetValue(Mtu)?.Select(m => m.ToString()).ToArray(), links, "--mtu", allowOne: true);
        string? At(string?[] values, int i) => values.Length == 0 ? null : values[Math.Min(i, values.Length - 1)];
        int MtuAt(int i) => At(mtus, i) is { } m ? int.Parse(m) : 1500;
        var more = new List<LinkOptions>();
        for (int i = 1; i < links; i++)
            more.Add(new LinkOptions
            {
                TapName = taps[i],
                StackAddress = Ipv4Cidr.Parse(ips[i]),
                HostAddress = At(hosts, i) is { } h ? Ipv4Cidr.Parse(h) : null,
                Namespace = At(spaces, i),
                Mac = At(macs, i) is { } m ? MacAddress.Parse(m) : null,
                Mtu = MtuAt(i),
            });
        return new SceneOptions
        {
            TapName = taps.Length > 0 ? taps[0] : "",
            PcapDevice = pcapDevice,
            StackAddress = Ipv4Cidr.Parse(ips[0]),
            HostAddress = At(hosts, 0) is { } h0 ? Ipv4Cidr.Parse(h0) : null,
            Namespace = At(spaces, 0),
            Gateway = result.GetValue(Gateway) is { } g ? Ipv4Address.Parse(g) : null,
            Mac = At(macs, 0) is { } m0 ? MacAddress.Parse(m0) : null,
            Mtu = MtuAt(0),
            PcapPath = result.GetValue(Pcap),
            Trace = ReadTrace(result),
            AllowHostNamespace = true, // the user asked for it (a note is printed)
            EphemeralPorts = ParseRange(result.GetValue(EphemeralPorts)!),
            Faults = result.GetValue(Faults) is { } f ? LinkFaults.Parse(f) : null,
            Tcp = ReadTcp(result.GetValue(Congestion)!, result.GetValue(TcpOff)),
            MoreLinks = more,
            Forwarding = result.GetValue(Forward),
            Offload = !result.GetValue(NoOffload),
            BusyPollMicroseconds = result.GetValue(BusyPoll) is { } spin
                ? spin is >= 0 and <= 1_000_000 ? spin : throw new FormatException($"--busy-poll takes 0 to 1000000 microseconds, not {spin}")
                : null,
        };
    }

    /// <summary>An option given once per link, or (when <paramref name="allowOne"/>) once for all; none is fine.</summary>
    private static string?[] PerLink(string[]? values, int links, string name, bool allowOne)
    {
        values ??= [];
        if (values.Length == 0 || values.Length == links || (allowOne && values.Length == 1)) return values;
        throw new FormatException($"give {name} {(allowOne ? "once for all links or " : "")}once per link: {links} link(s), {values.Length} {name}");
    }

    /// <summary>--trace [FILTER] and --trace-format as a console sink; null without --trace.</summary>
    private ConsoleTrace? ReadTrace(ParseResult result)
    {
        if (result.GetResult(Trace) is null) return null;
        var format = result.GetValue(TraceFormat);
        if (format is not ("text" or "json")) throw new FormatException($"--trace-format is text or json, not '{format}'");
        return new ConsoleTrace(Console.Out, Diagnostics.TraceFilter.Parse(result.GetValue(Trace)), json: format == "json", colour: format == "text" && ConsoleTrace.ConsoleWantsColour);
    }

    /// <summary>--congestion and --tcp-off as TcpOptions; FormatException naming what is unknown.</summary>
    private static Tcp.TcpOptions ReadTcp(string congestion, string? off)
    {
        if (!Tcp.Congestion.CongestionControl.IsKnown(congestion))
            throw new FormatException($"unknown congestion control '{congestion}' (known: {string.Join(", ", Tcp.Congestion.CongestionControl.Available)})");
        var names = (off ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var n in names)
            if (n is not ("sack" or "timestamps" or "wscale")) throw new FormatException($"--tcp-off knows sack, timestamps and wscale, not '{n}'");
        return new Tcp.TcpOptions
        {
            CongestionControl = congestion,
            SelectiveAcknowledgments = !names.Contains("sack"),
            Timestamps = !names.Contains("timestamps"),
            WindowScaling = !names.Contains("wscale"),
        };
    }

    private static (ushort, ushort) ParseRange(string text)
    {
        var parts = text.Split('-');
        if (parts.Length == 2 && ushort.TryParse(parts[0], out var first) && ushort.TryParse(parts[1], out var last) && first > 0 && first <= last)
            return (first, last);
        throw new FormatException($"'{text}' is not a port range FIRST-LAST with 1 <= FIRST <= LAST <= 65535");
    }
}
