namespace UserStack.Drivers.Faults;

/// <summary>What one direction of a lossy link did, counted as it happened (thread-safe).</summary>
public sealed class FaultCounters
{
    private long frames, lost, duplicated, reordered, corrupted, overflowed, delivered;

    /// <summary>Frames offered to the link.</summary>
    public long Frames => Volatile.Read(ref frames);
    public long Lost => Volatile.Read(ref lost);
    public long Duplicated => Volatile.Read(ref duplicated);
    public long Reordered => Volatile.Read(ref reordered);
    public long Corrupted => Volatile.Read(ref corrupted);
    /// <summary>Frames (or copies) dropped because the delay queue was full.</summary>
    public long Overflowed => Volatile.Read(ref overflowed);
    /// <summary>Frames (and copies) passed on: to the inner device when sending, to the handler when receiving.</summary>
    public long Delivered => Volatile.Read(ref delivered);

    internal void CountFrame() => Interlocked.Increment(ref frames);
    internal void CountLost() => Interlocked.Increment(ref lost);
    internal void CountDuplicated() => Interlocked.Increment(ref duplicated);
    internal void CountReordered() => Interlocked.Increment(ref reordered);
    internal void CountCorrupted() => Interlocked.Increment(ref corrupted);
    internal void CountOverflowed() => Interlocked.Increment(ref overflowed);
    internal void CountDelivered() => Interlocked.Increment(ref delivered);

    public override string ToString() =>
        $"frames={Frames} lost={Lost} duplicated={Duplicated} reordered={Reordered} corrupted={Corrupted} overflowed={Overflowed} delivered={Delivered}";
}
