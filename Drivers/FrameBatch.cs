namespace UserStack.Drivers;

/// <summary>
/// Frames a device read in one go (every frame that was queued at a wake-up, up to a limit), packed
/// in the device's own buffer. Only valid during the <see cref="FrameBatchHandler"/> call.
/// </summary>
public readonly ref struct FrameBatch
{
    private readonly ReadOnlySpan<byte> buffer;
    private readonly ReadOnlySpan<int> starts;
    private readonly ReadOnlySpan<int> lengths;
    private readonly ReadOnlySpan<bool> checksumTrusted;

    /// <param name="checksumTrusted">per frame, when the device knows: its transport checksum needs no
    /// check (the kernel left it undone or checked it; see <see cref="Tap.VirtioNetHeader"/>). Empty: check every one.</param>
    public FrameBatch(ReadOnlySpan<byte> buffer, ReadOnlySpan<int> starts, ReadOnlySpan<int> lengths, ReadOnlySpan<bool> checksumTrusted = default)
    {
        if (starts.Length != lengths.Length) throw new ArgumentException("one start and one length per frame");
        if (!checksumTrusted.IsEmpty && checksumTrusted.Length != starts.Length) throw new ArgumentException("one checksum mark per frame, or none");
        this.buffer = buffer;
        this.starts = starts;
        this.lengths = lengths;
        this.checksumTrusted = checksumTrusted;
    }

    public int Count => starts.Length;
    public ReadOnlySpan<byte> this[int i] => buffer.Slice(starts[i], lengths[i]);
    /// <summary>Frame <paramref name="i"/>'s TCP/UDP checksum needs no check (checksum offload).</summary>
    public bool IsChecksumTrusted(int i) => !checksumTrusted.IsEmpty && checksumTrusted[i];
}

/// <summary>Called on the device's reader thread for every batch of frames; the batch is only valid during the call.</summary>
public delegate void FrameBatchHandler(in FrameBatch batch);

/// <summary>
/// A device that reads several frames per wake-up and can hand them over together, so that a host
/// takes its lock and reads its clock once per batch instead of once per frame.
/// </summary>
public interface IFrameBatchDevice : IFrameDevice
{
    /// <summary>Starts delivering received frames, a batch at a time, on a thread of the device's own.</summary>
    void Start(FrameBatchHandler handler);
}
