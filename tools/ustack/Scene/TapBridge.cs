using UserStack.Drivers;
using UserStack.Drivers.Faults;
using UserStack.Drivers.Tap;
using UserStack.Wire;

namespace UserStack.Tools.Scene;

/// <summary>Two kernels joined by a lossy link: the names and addresses of each side.</summary>
public sealed record BridgeOptions
{
    /// <summary>Namespaces for side A and side B; both are created here and deleted afterwards.</summary>
    public required string NamespaceA { get; init; }
    public required string NamespaceB { get; init; }
    public required string TapA { get; init; }
    public required string TapB { get; init; }
    public Ipv4Cidr AddressA { get; init; } = Ipv4Cidr.Parse("10.96.0.1/24");
    public Ipv4Cidr AddressB { get; init; } = Ipv4Cidr.Parse("10.96.0.2/24");
    public int Mtu { get; init; } = 1500;
    /// <summary>What the link does to frames; the A side's device is wrapped, so "received" is A to B and "sent" is B to A.</summary>
    public LinkFaults? Faults { get; init; }
}

/// <summary>
/// Kernel to kernel over the same fault middleware that a UserStack scene uses: two TAPs, each
/// moved into a namespace of its own, and a copy loop between them (every frame from A is written
/// to B and back). The reference for lossy runs, since this kernel has no netem. Dispose removes it all.
/// </summary>
public sealed class TapBridge : IDisposable
{
    private readonly TapDevice tapA, tapB;
    private readonly IFrameDevice sideA;

    private TapBridge(BridgeOptions options, NetworkNamespace a, NetworkNamespace b, TapDevice tapA, TapDevice tapB)
    {
        Options = options;
        A = a;
        B = b;
        this.tapA = tapA;
        this.tapB = tapB;
        Faults = options.Faults is { } f ? new FaultInjectingDevice(tapA, f) : null;
        sideA = (IFrameDevice?)Faults ?? tapA;
    }

    public BridgeOptions Options { get; }
    public NetworkNamespace A { get; }
    public NetworkNamespace B { get; }
    public FaultInjectingDevice? Faults { get; }
    /// <summary>Frames the kernel of A wrote and frames the kernel of B wrote (before any fault).</summary>
    public long FramesFromA => tapA.FramesRead;
    public long FramesFromB => tapB.FramesRead;

    public static TapBridge Start(BridgeOptions options)
    {
        if (options.AddressA.Address == options.AddressB.Address) throw new ArgumentException($"both sides cannot be {options.AddressA.Address}");
        if (options.NamespaceA == options.NamespaceB) throw new ArgumentException("the two sides need namespaces of their own");
        var made = new List<IDisposable>();
        try
        {
            // Created here (an existing namespace is refused), so that every address lives in a namespace we delete.
            var a = NetworkNamespace.Create(options.NamespaceA);
            made.Add(a);
            var b = NetworkNamespace.Create(options.NamespaceB);
            made.Add(b);
            var tapA = TapDevice.Open(options.TapA);
            made.Add(tapA);
            var tapB = TapDevice.Open(options.TapB);
            made.Add(tapB);
            foreach (var (ns, tap, address) in new[] { (a, tapA, options.AddressA), (b, tapB, options.AddressB) })
            {
                ns.Adopt(tap.Name);
                ns.Ip("link", "set", tap.Name, "mtu", options.Mtu.ToString());
                ns.Ip("addr", "add", address.ToString(), "dev", tap.Name);
                ns.Ip("link", "set", tap.Name, "up");
            }
            var bridge = new TapBridge(options, a, b, tapA, tapB);
            // A TAP write does not come back to its own reader, so copying both ways makes no loop.
            bridge.sideA.Start(frame => tapB.Send(frame));
            tapB.Start(frame => bridge.sideA.Send(frame));
            return bridge;
        }
        catch
        {
            for (int i = made.Count - 1; i >= 0; i--) made[i].Dispose();
            throw;
        }
    }

    public override string ToString() =>
        Faults is { } f ? $"A->B: {f.Received}\nB->A: {f.Sent}" : $"A->B: {FramesFromA} frames, B->A: {FramesFromB} frames";

    public void Dispose()
    {
        sideA.Dispose();   // the fault middleware first (its delay threads), then the TAP under it
        tapA.Dispose();
        tapB.Dispose();
        A.Dispose();
        B.Dispose();
    }
}
