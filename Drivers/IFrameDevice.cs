namespace UserStack.Drivers;

/// <summary>Called on the device's reader thread for every frame; the span is only valid during the call.</summary>
public delegate void FrameHandler(ReadOnlySpan<byte> frame);

/// <summary>Something that moves Ethernet frames: a TAP device, a pcap interface, a virtual wire port.</summary>
public interface IFrameDevice : IDisposable
{
    string Name { get; }
    /// <summary>Starts delivering received frames to <paramref name="handler"/> on a thread of the device's own.</summary>
    void Start(FrameHandler handler);
    /// <summary>Sends one frame; false when the device could not take it (counted by the device).</summary>
    bool Send(ReadOnlySpan<byte> frame);
}

/// <summary>The device cannot be opened here; the message says why and what to do.</summary>
public sealed class DeviceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
