using System.Diagnostics;

namespace UserStack.Drivers.Faults;

/// <summary>
/// Wraps any <see cref="IFrameDevice"/> (a TAP, a pcap interface, a memory link) and makes it a
/// lossy link on the real clock: frames it receives and frames sent through it are dropped,
/// duplicated, corrupted, delayed and reordered by seeded chance (<see cref="LinkFaults"/>).
/// The middleware shape of smoltcp's phy::FaultInjector, with delay added because this kernel has
/// no netem. Send never waits for a delay: delayed frames are copied and leave from a thread.
/// </summary>
public sealed class FaultInjectingDevice : IFrameDevice
{
    private readonly IFrameDevice inner;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly FaultPath? sendPath;
    private FaultPath? receivePath;
    private FrameHandler? handler;
    private volatile bool disposed;

    public FaultInjectingDevice(IFrameDevice inner, LinkFaults faults)
    {
        this.inner = inner;
        Faults = faults;
        if (faults.Applies(FaultDirection.Send))
            sendPath = new FaultPath($"{inner.Name}:send", faults, FaultDirection.Send, clock, SendInner);
    }

    public string Name => inner.Name;
    public IFrameDevice Inner => inner;
    public LinkFaults Faults { get; }
    /// <summary>What happened to frames the inner device received (zero when that direction is not faulted).</summary>
    public FaultCounters Received => receivePath?.Counters ?? Untouched;
    /// <summary>What happened to frames sent through this device (zero when that direction is not faulted).</summary>
    public FaultCounters Sent => sendPath?.Counters ?? Untouched;
    /// <summary>Frames waiting in the delay queues right now.</summary>
    public int Waiting => (receivePath?.Waiting ?? 0) + (sendPath?.Waiting ?? 0);
    private static readonly FaultCounters Untouched = new();

    public void Start(FrameHandler handler)
    {
        if (this.handler is not null) throw new InvalidOperationException("the device is already started");
        this.handler = handler;
        if (!Faults.Applies(FaultDirection.Receive)) { inner.Start(handler); return; }
        receivePath = new FaultPath($"{inner.Name}:receive", Faults, FaultDirection.Receive, clock, frame => handler(frame));
        inner.Start(frame => { if (!disposed) receivePath.Process(frame); });
    }

    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (disposed) return false;
        return sendPath is null ? inner.Send(frame) : sendPath.Process(frame);
    }

    private void SendInner(ReadOnlySpan<byte> frame)
    {
        if (!disposed) inner.Send(frame);
    }

    public override string ToString() => $"{Name} [{Faults}] received: {Received}; sent: {Sent}";

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        // The delay threads stop first, so that nothing writes to the inner device once it is closed.
        sendPath?.Dispose();
        receivePath?.Dispose();
        inner.Dispose();
    }
}
