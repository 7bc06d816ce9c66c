using UserStack.Drivers;

namespace UserStack.Sockets.Host;

/// <summary>More links for the hosted stack: each a device of its own feeding one <see cref="NetworkInterface"/>.</summary>
public sealed partial class StackHost
{
    private readonly List<(IFrameDevice Device, NetworkInterface Link)> links = new();

    /// <summary>
    /// Gives the stack one more interface on <paramref name="device"/> (before <see cref="Start"/>): its
    /// frames go in under <see cref="Gate"/> like the first device's, and the interface's frames go out by it.
    /// The host disposes the device with its own.
    /// </summary>
    public NetworkInterface AddLink(InterfaceOptions options, IFrameDevice device)
    {
        // Extra links read frame by frame: no per-frame checksum marks, so no offloads.
        if (device is ISegmentationOffloadDevice { SegmentationOffload: true })
            throw new ArgumentException($"{device.Name}: an extra link takes a device without offloads", nameof(device));
        NetworkInterface link;
        lock (Gate) link = Stack.AddInterface(options, new LinkSink(this, device));
        links.Add((device, link));
        return link;
    }

    /// <summary>The devices of the links added with <see cref="AddLink"/>.</summary>
    public IReadOnlyList<(IFrameDevice Device, NetworkInterface Link)> Links => links;

    private void StartLinks()
    {
        foreach (var (device, link) in links) device.Start(frame => OnLinkFrame(link, frame));
    }

    private void DisposeLinks()
    {
        foreach (var (device, _) in links) device.Dispose();
    }

    private void OnLinkFrame(NetworkInterface link, ReadOnlySpan<byte> frame)
    {
        transmit?.CallerWillFlush();
        try { ReceiveLocked(link, frame); }
        finally { transmit?.FlushAsCaller(); }
    }

    private void ReceiveLocked(NetworkInterface link, ReadOnlySpan<byte> frame)
    {
        lock (Gate)
        {
            Capture?.BeginReceived(frame, DateTime.UtcNow);
            try { Stack.Receive(link, frame, clock.Now); }
            catch (Exception e) { Fault(e); }
            Capture?.EndReceived(Stack.ReceiveFate);
            Reschedule();
        }
    }

    private sealed class LinkSink(StackHost host, IFrameDevice device) : IFrameSink
    {
        public void Transmit(ReadOnlySpan<byte> frame) => host.SendOut(device, frame);
    }
}
