using System.Collections.Concurrent;
using System.Diagnostics;
using UserStack.Drivers.Tap;
using UserStack.Drill;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Differential;

/// <summary>A frame the kernel wrote to the TAP, with the time it was read (seconds since the scene's clock started).</summary>
internal readonly record struct KernelFrame(double At, byte[] Bytes);

/// <summary>
/// The kernel side of one script, in a network namespace of its own (DESIGN.md, "Safety of the
/// network"): a TAP whose kernel side is the script's local host, 192.168.0.1/24 with the MAC
/// DrillRunner gives UserStack, and a default route to the script's remote host 192.0.2.1 via
/// the gateway 192.168.0.2, whose MAC is a permanent neighbour entry (we also answer ARP for it).
/// This process holds the TAP: it writes the script's `&lt;` segments and reads what the kernel
/// sends. Dispose closes the TAP and deletes the namespace; nothing is configured outside it.
/// </summary>
internal sealed class KernelScene : IDisposable
{
    public static readonly MacAddress KernelMac = MacAddress.Parse("02:00:00:00:00:01");
    public static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly DrillConfig Defaults = new(new DrillSettings());
    /// <summary>packetdrill's default addresses, as DrillRunner uses them: the kernel is the local host.</summary>
    public static readonly Ipv4Address LocalIp = Defaults.LocalIp, RemoteIp = Defaults.RemoteIp, GatewayIp = Defaults.GatewayIp;

    /// <summary>
    /// The namespace's sysctls (per namespace in this kernel). Timestamps, SACK, D-SACK and window
    /// scaling on, as UserStack and Linux both default; buffers of 256 KiB as UserStack's
    /// TcpOptions.Send/ReceiveBufferSize, so that a script's 30000-byte write is accepted whole and
    /// the kernel picks the window scale UserStack picks (3); no IPv6 chatter on the TAP. Everything
    /// else (TLP/RACK, delayed ACK, RTO bounds, challenge-ACK limits) stays Linux's own default.
    /// Congestion control is set per socket (TCP_CONGESTION "cubic", UserStack's default): the
    /// machine's default is BBR, and a namespace may only pick one of the machine's
    /// tcp_allowed_congestion_control (here "reno bbr"), so the sysctl is refused with EPERM.
    /// </summary>
    public static readonly string[] Sysctls =
    [
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
        "net.ipv4.tcp_timestamps=1",
        "net.ipv4.tcp_sack=1",
        "net.ipv4.tcp_dsack=1",
        "net.ipv4.tcp_window_scaling=1",
        "net.ipv4.tcp_rmem=4096 262144 262144",
        "net.ipv4.tcp_wmem=4096 262144 262144",
        "net.ipv4.tcp_no_metrics_save=1",
    ];

    private static int counter;
    private readonly TapDevice device;
    private readonly BlockingCollection<KernelFrame> frames = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();

    private KernelScene(TapDevice device, NetworkNamespace ns)
    {
        this.device = device;
        Namespace = ns;
    }

    public NetworkNamespace Namespace { get; }
    public double Now => clock.Elapsed.TotalSeconds;
    /// <summary>Frames the kernel sent that were not IPv4 from its address (ARP answered, others ignored).</summary>
    public int OtherFrames { get; private set; }

    /// <summary>Why this machine cannot run the differential mode, or null when it can.</summary>
    public static string? Unavailable()
    {
        if (!TapDevice.IsAvailable(out var reason)) return reason;
        if (!Shell.Exists("ip")) return "iproute2's 'ip' is not installed";
        if (!Shell.Exists("sysctl")) return "procps's 'sysctl' is not installed";
        return null;
    }

    public static KernelScene Start()
    {
        int n = Interlocked.Increment(ref counter);
        string nsName = $"usdiff-{Environment.ProcessId}-{n}", tapName = $"usd{Environment.ProcessId % 100000}x{n}";
        var ns = NetworkNamespace.Create(nsName);
        TapDevice? device = null;
        try
        {
            var set = ns.Exec(TimeSpan.FromSeconds(20), "sysctl", ["-q", "-w", .. Sysctls]);
            if (!set.Succeeded) throw new InvalidOperationException($"sysctl in {nsName} failed: {set.Error.Trim()}");
            device = TapDevice.Open(tapName);
            ns.Adopt(device.Name);
            ns.Ip("link", "set", device.Name, "address", KernelMac.ToString(), "mtu", "1500");
            ns.Ip("addr", "add", $"{LocalIp}/24", "dev", device.Name);
            ns.Ip("link", "set", device.Name, "up");
            ns.Ip("neigh", "replace", GatewayIp.ToString(), "lladdr", GatewayMac.ToString(), "dev", device.Name, "nud", "permanent");
            ns.Ip("route", "add", "default", "via", GatewayIp.ToString(), "dev", device.Name);
            var scene = new KernelScene(device, ns);
            device.Start(scene.OnFrame);
            scene.CheckLink();
            return scene;
        }
        catch
        {
            device?.Dispose();
            ns.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Asks the kernel's ARP for its own address and waits for the answer: proves the TAP works in
    /// both directions before a script starts, and warms up the read path so the first segment is on time.
    /// </summary>
    private void CheckLink()
    {
        for (int attempt = 0; attempt < 20 && OtherFrames == 0; attempt++)
        {
            device.Send(Arp(ArpOperation.Request, GatewayMac, GatewayIp, MacAddress.Zero, LocalIp));
            Thread.Sleep(50);
        }
        if (OtherFrames == 0) throw new InvalidOperationException($"the kernel in {Namespace.Name} does not answer ARP on the TAP");
    }

    private static byte[] Arp(ArpOperation op, MacAddress senderMac, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp)
    {
        var frame = new byte[EthernetFrame.MinimumLength];
        new EthernetRepr(op == ArpOperation.Request ? MacAddress.Broadcast : targetMac, senderMac, EtherType.Arp).Write(frame);
        new ArpRepr(op, senderMac, senderIp, targetMac, targetIp).Write(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        double at = Now;
        if (frame.Length >= 34 && frame[12] == 0x08 && frame[13] == 0x00 && frame[23] == (byte)IpProtocol.Tcp)
        {
            frames.Add(new KernelFrame(at, frame.ToArray()));
            return;
        }
        OtherFrames++;
        if (frame.Length >= 42 && frame[12] == 0x08 && frame[13] == 0x06 && ArpPacket.TryRead(frame[14..], out var arp, out _)
            && arp.Operation == ArpOperation.Request && arp.TargetProtocolAddress == GatewayIp)
            device.Send(Arp(ArpOperation.Reply, GatewayMac, GatewayIp, arp.SenderHardwareAddress, arp.SenderProtocolAddress));
    }

    /// <summary>The next TCP frame the kernel sent, waiting until <paramref name="deadline"/> (scene seconds) at most.</summary>
    public bool TryTake(double deadline, out KernelFrame frame)
    {
        int ms = (int)Math.Ceiling(Math.Max(0, deadline - Now) * 1000);
        return frames.TryTake(out frame, ms);
    }

    public void Send(byte[] frame) => device.Send(frame);

    /// <summary>Sleeps until <paramref name="at"/> (scene seconds), to the millisecond.</summary>
    public void SleepUntil(double at)
    {
        while (true)
        {
            double left = at - Now;
            if (left <= 0) return;
            if (left > 0.002) Thread.Sleep(TimeSpan.FromSeconds(left - 0.001));
            else Thread.SpinWait(1000);
        }
    }

    public void Dispose()
    {
        device.Dispose();   // the kernel removes the interface, its address and routes
        Namespace.Dispose();
    }
}
