namespace UserStack.Drivers;

/// <summary>
/// A device that cuts TCP super-segments itself (TSO) and may hand over frames whose checksum it
/// vouches for (<see cref="FrameBatch.IsChecksumTrusted"/>): a TAP opened with offloads.
/// </summary>
public interface ISegmentationOffloadDevice : IFrameBatchDevice
{
    /// <summary>The kernel granted the offloads; false, the device behaves as a plain one.</summary>
    bool SegmentationOffload { get; }
    /// <summary>Sends one frame; <paramref name="segmentSize"/> &gt; 0: an IPv4 TCP super-segment cut into that many payload bytes per segment.</summary>
    bool Send(ReadOnlySpan<byte> frame, int segmentSize);
}
