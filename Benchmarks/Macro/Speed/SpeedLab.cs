using UserStack.Sockets.Daemons;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>
/// Where the speed table runs: a client namespace A (the kernel client of every row) with a veth
/// to a kernel-server namespace B (10.98.1.0/24), and UserStack on a TAP whose host side is in A
/// (10.98.0.0/24). Both namespaces are made here and deleted on Dispose, whatever failed before.
/// </summary>
public sealed class SpeedLab : IDisposable
{
    public static readonly string StackIp = "10.98.0.2", TapHostIp = "10.98.0.1";
    public static readonly string ClientVethIp = "10.98.1.1", KernelIp = "10.98.1.2";

    private readonly int id = Environment.ProcessId;
    private readonly string vethA, vethB;

    public SpeedLab()
    {
        Client = NetworkNamespace.Create($"usspeed-{id}-a");
        try
        {
            Kernel = NetworkNamespace.Create($"usspeed-{id}-b");
            vethA = $"uspa{id % 10000}";
            vethB = $"uspb{id % 10000}";
            Client.Ip("link", "add", vethA, "type", "veth", "peer", "name", vethB, "netns", Kernel.Name);
            Client.Ip("addr", "add", $"{ClientVethIp}/24", "dev", vethA);
            Kernel.Ip("addr", "add", $"{KernelIp}/24", "dev", vethB);
            Client.Ip("link", "set", vethA, "up");
            Kernel.Ip("link", "set", vethB, "up");
            // The connection-rate client closes first: its TIME-WAITs must not run out of ports,
            // and a lost SYN must not hang a thread for two minutes (3 tries, ~7 s).
            foreach (var (key, value) in new[] { ("net.ipv4.tcp_tw_reuse", "1"), ("net.ipv4.ip_local_port_range", "1024 65000"), ("net.ipv4.tcp_syn_retries", "2") })
                Client.Exec(TimeSpan.FromSeconds(10), "sysctl", "-q", "-w", $"{key}={value}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NetworkNamespace Client { get; }
    public NetworkNamespace? Kernel { get; }

    /// <summary>TSO/GSO/GRO and checksum offloads on both veth ends on or off; the result says whether ethtool did it.</summary>
    public string SetVethOffloads(bool on)
    {
        string state = on ? "on" : "off";
        foreach (var (ns, dev) in new[] { (Client, vethA), (Kernel!, vethB) })
        {
            var r = ns.Exec(TimeSpan.FromSeconds(10), "ethtool", "-K", dev, "tso", state, "gso", state, "gro", state, "tx", state, "rx", state);
            if (!r.Succeeded) return $"ethtool failed: {(r.Error + r.Output).Trim().Split('\n')[0]}";
        }
        return $"offloads {state}";
    }

    /// <summary>UserStack on a TAP into namespace A, with the discard, echo and HTTP daemons.</summary>
    public (TapScene Scene, TcpDaemons Daemons) StartStack(bool offload, int? busyPollMicroseconds = null)
    {
        // The one place the speed table builds a scene.
        var options = new SceneOptions
        {
            TapName = $"usspt{id % 10000}",
            Namespace = Client.Name,   // exists: the scene adopts the TAP into it and does not delete it
            StackAddress = Ipv4Cidr.Parse($"{StackIp}/24"),
            HostAddress = Ipv4Cidr.Parse($"{TapHostIp}/24"),
            Offload = offload, // IFF_VNET_HDR with TUN_F_CSUM|TUN_F_TSO4, as ustack up by default
            BusyPollMicroseconds = busyPollMicroseconds,
        };
        var scene = TapScene.Start(options);
        if (offload && !scene.Stack.Primary.SegmentationOffload)
        {
            string why = scene.OffloadState;
            scene.Dispose();
            throw new InvalidOperationException($"the TAP refused offloads: {why}");
        }
        try { return (scene, new TcpDaemons(scene.Host, [DaemonKind.Discard, DaemonKind.Echo, DaemonKind.Http])); }
        catch { scene.Dispose(); throw; }
    }

    public void Dispose()
    {
        Kernel?.Dispose(); // deleting a namespace deletes its veth end, and with it the pair
        Client.Dispose();
    }
}
