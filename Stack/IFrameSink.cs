namespace UserStack;

/// <summary>Where the core puts each finished outbound frame. It must copy or send before returning.</summary>
public interface IFrameSink
{
    void Transmit(ReadOnlySpan<byte> frame);

    /// <summary>
    /// One TCP super-segment for a device with segmentation offload (<see cref="NetworkInterface.SegmentationOffload"/>):
    /// it leaves as segments of <paramref name="segmentSize"/> payload bytes. The stack sends one only
    /// on an interface whose host said its sink can; a sink that cannot must not be asked.
    /// </summary>
    void Transmit(ReadOnlySpan<byte> frame, int segmentSize) =>
        throw new NotSupportedException($"{GetType().Name} has no segmentation offload; a {frame.Length}-byte super-segment was sent to it");
}
