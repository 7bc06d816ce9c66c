using UserStack.Diagnostics;
using UserStack.Drivers;
using UserStack.Drivers.Capture;
using UserStack.Drivers.Faults;
using UserStack.Drivers.Pcap;
using UserStack.Drivers.Tap;
using UserStack.Sockets.Host;
using UserStack.Wire;

namespace UserStack.Tools.Scene;

/// <summary>What a TAP scene consists of: the stack's side, the host's side, and where the host side lives.</summary>
public sealed record SceneOptions
{
    /// <summary>TAP interface to create or attach to; empty when <see cref="PcapDevice"/> names the link instead.</summary>
    public string TapName { get; init; } = "";
    /// <summary>An existing interface of the current namespace to attach to through pcap (promiscuous, own MAC) instead of a TAP.</summary>
    public string? PcapDevice { get; init; }
    public required Ipv4Cidr StackAddress { get; init; }
    /// <summary>The kernel's address on the TAP; null leaves the host side unconfigured.</summary>
    public Ipv4Cidr? HostAddress { get; init; }
    /// <summary>Namespace to move the TAP into (created if missing); null keeps it in the current one.</summary>
    public string? Namespace { get; init; }
    public MacAddress? Mac { get; init; }
    public Ipv4Address? Gateway { get; init; }
    public int Mtu { get; init; } = 1500;
    public string? PcapPath { get; init; }
    /// <summary>Where ephemeral ports come from (RFC 6335 8.1.2 by default).</summary>
    public (ushort First, ushort Last) EphemeralPorts { get; init; } = (49152, 65535);
    public ITraceSink? Trace { get; init; }
    /// <summary>Makes the TAP a lossy link (both directions unless the spec says otherwise); null leaves it clean.</summary>
    public LinkFaults? Faults { get; init; }
    /// <summary>TCP tuning for the stack; null keeps the defaults.</summary>
    public Tcp.TcpOptions? Tcp { get; init; }
    /// <summary>
    /// Only `ustack up` run by a user without --netns sets this: it allows a host address in the
    /// machine's own namespace. Tests and the demo never do (DESIGN.md, "Safety of the network").
    /// </summary>
    public bool AllowHostNamespace { get; init; }
    /// <summary>More links of the same stack (`--tap A --ip X --tap B --ip Y`), each a TAP with its own address, MAC, MTU and host side.</summary>
    public IReadOnlyList<LinkOptions> MoreLinks { get; init; } = [];
    /// <summary>Forward between the links (RFC 1812; docs/routing.md).</summary>
    public bool Forwarding { get; init; }
    /// <summary>
    /// Ask the TAP for checksum and TCP segmentation offloads (IFF_VNET_HDR; TUN_F_CSUM, TUN_F_TSO4): the
    /// kernel then hands us up to 64 KiB per read and cuts our super-segments itself. Not used with
    /// <see cref="Faults"/> (they act per frame) or <see cref="Forwarding"/> (a frame whose checksum the
    /// kernel left undone must not be forwarded); <see cref="TapScene.OffloadState"/> says what was granted.
    /// </summary>
    public bool Offload { get; init; }
    /// <summary>How long the TAP reader keeps reading an empty queue before it sleeps (µs); null: the device's default (50).</summary>
    public int? BusyPollMicroseconds { get; init; }
}

/// <summary>
/// The stack on a real TAP: opens the device, optionally moves it into a network namespace and
/// gives the kernel side its address there, then runs the stack over it. Dispose undoes all of it.
/// </summary>
public sealed partial class TapScene : IDisposable
{
    private TapScene(IFrameDevice device, FaultInjectingDevice? faults, StackHost host, NetworkNamespace? ns, PcapCapture? capture, SceneOptions options)
    {
        Device = device;
        Faults = faults;
        Host = host;
        Namespace = ns;
        Capture = capture;
        Options = options;
    }

    /// <summary>The link: a TAP, or an interface opened through pcap (<see cref="SceneOptions.PcapDevice"/>).</summary>
    public IFrameDevice Device { get; }
    /// <summary>The fault middleware between the TAP and the stack, when the scene has faults.</summary>
    public FaultInjectingDevice? Faults { get; }
    public StackHost Host { get; }
    public NetworkNamespace? Namespace { get; }
    public PcapCapture? Capture { get; }
    public SceneOptions Options { get; }
    public NetStack Stack => Host.Stack;

    /// <summary>"tso4,csum" when the TAP's offloads are in use; otherwise "off" and why.</summary>
    public string OffloadState =>
        Stack.Primary.SegmentationOffload ? "tso4,csum"
        : Device is TapDevice { OffloadRefusal.Length: > 0 } tap ? $"off ({tap.OffloadRefusal})"
        : !Options.Offload ? "off"
        : Options.PcapDevice is not null ? "off (pcap device)"
        : Options.Faults is not null ? "off (faults act per frame)"
        : Options.Forwarding ? "off (forwarding)"
        : "off";

    /// <summary>
    /// Frames the kernel queues for the stack to read (the TAP default is 1000 for tun, 500 in old
    /// kernels). Under a flood the reader keeps up on average but is sometimes off its CPU (JIT, GC,
    /// other processes on a 2-core machine); a drop there costs the victim a retransmission (200 ms
    /// to 1 s), queueing costs it microseconds. 4000 frames (~13 ms at 300,000 frames/s) still lost
    /// 13,000-70,000 frames per flood on a busy machine; 20,000 is ~60 ms (Benchmarks/README.md,
    /// "Host receive path under a SYN flood").
    /// </summary>
    public const string TxQueueLength = "20000";

    /// <summary>Whether this process can open the scene's kind of link, and if not, why.</summary>
    public static bool IsAvailable(SceneOptions options, out string reason)
    {
        if (options.PcapDevice is null) return TapDevice.IsAvailable(out reason);
        reason = Environment.UserName == "root" ? "" : "opening an interface through pcap needs root or CAP_NET_RAW (run with sudo)";
        return reason.Length == 0;
    }

    public static TapScene Start(SceneOptions options)
    {
        var stackOptions = new StackOptions
        {
            HardwareAddress = options.Mac ?? MacAddress.NewLocallyAdministered(Random.Shared),
            Address = options.StackAddress,
            Gateway = options.Gateway,
            Mtu = options.Mtu,
            InitialIdentification = (ushort)Random.Shared.Next(65536),
            Secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32),
            EphemeralPortFirst = options.EphemeralPorts.First,
            EphemeralPortLast = options.EphemeralPorts.Last,
            Tcp = options.Tcp ?? new(),
            Forwarding = options.Forwarding,
            InterfaceName = options.PcapDevice ?? options.TapName,
        };
        stackOptions.Validate();
        if (options.HostAddress is { } h && h.Address == options.StackAddress.Address)
            throw new ArgumentException($"the host side and the stack cannot both be {h.Address}");

        if (options.Namespace is null && options.HostAddress is not null && !options.AllowHostNamespace && NetworkNamespace.InInitialNamespace())
            throw new InvalidOperationException("refusing to configure an address in the machine's own network namespace: give the scene a namespace of its own");

        if (options.PcapDevice is not null)
        {
            if (options.TapName.Length > 0) throw new ArgumentException("give either a TAP (--tap) or an interface to open through pcap (--pcap-device), not both");
            if (options.Namespace is not null || options.HostAddress is not null)
                throw new ArgumentException("--pcap-device attaches to an interface as it is: configure its peer yourself (--netns and --host-ip are for TAPs; run ustack inside a namespace with `ip netns exec NS`)");
            return Run(PcapLiveDevice.Open(options.PcapDevice, stackOptions.HardwareAddress), null, stackOptions, options);
        }
        bool offload = options.Offload && options.Faults is null && !options.Forwarding;
        var device = TapDevice.Open(options.TapName, offload);
        if (options.BusyPollMicroseconds is { } spin) device.SpinMicroseconds = spin;
        NetworkNamespace? ns = null;
        try
        {
            if (options.Namespace is { } name)
            {
                ns = NetworkNamespace.OpenOrCreate(name);
                ns.Adopt(device.Name);
                ns.Ip("link", "set", device.Name, "mtu", options.Mtu.ToString(), "txqueuelen", TxQueueLength);
                if (options.HostAddress is { } host) ns.Ip("addr", "add", host.ToString(), "dev", device.Name);
                ns.Ip("link", "set", device.Name, "up");
            }
            else
            {
                // The user's own choice (DESIGN.md): the host side in the current namespace.
                Shell.Run("ip", "link", "set", device.Name, "mtu", options.Mtu.ToString(), "txqueuelen", TxQueueLength).ThrowIfFailed();
                if (options.HostAddress is { } host) Shell.Run("ip", "addr", "add", host.ToString(), "dev", device.Name).ThrowIfFailed();
                Shell.Run("ip", "link", "set", device.Name, "up").ThrowIfFailed();
            }
        }
        catch
        {
            device.Dispose();
            ns?.Dispose();
            throw;
        }
        return Run(device, ns, stackOptions, options);
    }

    /// <summary>Runs the stack over an opened link; on failure releases the link and the namespace.</summary>
    private static TapScene Run(IFrameDevice device, NetworkNamespace? ns, StackOptions stackOptions, SceneOptions options)
    {
        PcapCapture? capture = null;
        try
        {
            if (options.PcapPath is { } path) capture = new PcapCapture(path);
            // The stack sees (and a pcap records) frames after the link's faults on the way in, before them on the way out.
            var faults = options.Faults is { } f ? new FaultInjectingDevice(device, f) : null;
            var stackHost = new StackHost(stackOptions, (IFrameDevice?)faults ?? device, capture, options.Trace, transmitQueue: true);
            var scene = new TapScene(device, faults, stackHost, ns, capture, options);
            try { scene.AddLinks(); }
            catch { scene.Dispose(); throw; }
            stackHost.Start();
            return scene;
        }
        catch
        {
            device.Dispose();
            capture?.Dispose();
            ns?.Dispose();
            throw;
        }
    }

    /// <summary>Runs a program on the host side: inside the namespace when there is one.</summary>
    public CommandResult HostExec(TimeSpan timeout, string program, params string[] arguments) =>
        Namespace is { } ns ? ns.Exec(timeout, program, arguments) : Shell.Run(program, arguments, timeout);

    public void Dispose()
    {
        Host.Dispose();          // closes the TAPs (the kernel removes the interfaces and their addresses) or the pcap handle
        Capture?.Dispose();
        DisposeLinkNamespaces();
        Namespace?.Dispose();    // deletes the namespace only if we created it
    }
}
