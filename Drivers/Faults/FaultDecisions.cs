namespace UserStack.Drivers.Faults;

/// <summary>What the link does to one frame.</summary>
/// <param name="Lost">the frame never arrives.</param>
/// <param name="Copies">1, or 2 when it is duplicated (the copy follows the original).</param>
/// <param name="Due">when it leaves the link, on the clock passed to <see cref="FaultDecisions.Next"/>.</param>
/// <param name="Reordered">held back so that later frames pass it.</param>
/// <param name="CorruptBit">the bit to flip, or -1.</param>
public readonly record struct FrameFate(bool Lost, int Copies, TimeSpan Due, bool Reordered, int CorruptBit);

/// <summary>
/// The seeded decisions for one direction of a lossy link, without threads or clocks of its own,
/// so tests can check them frame by frame. Every frame draws the same seven numbers whatever the
/// faults, so the same seed loses the same frames whether or not delay or duplication is on.
/// Not thread-safe: the caller holds a lock.
/// </summary>
public sealed class FaultDecisions(LinkFaults faults, FaultDirection direction)
{
    private readonly Random random = new(unchecked(faults.Seed * 31 + (int)direction));
    private TimeSpan lastInOrderDue;

    public FrameFate Next(TimeSpan now, int length)
    {
        double lose = random.NextDouble(), duplicate = random.NextDouble(), reorder = random.NextDouble();
        double holdBack = random.NextDouble(), jitter = random.NextDouble(), corrupt = random.NextDouble(), bit = random.NextDouble();

        if (lose < faults.Loss) return new FrameFate(true, 0, now, false, -1);
        var due = now + faults.Delay + Scale(faults.Jitter, jitter);
        bool reordered = reorder < faults.Reorder;
        if (reordered) due += Scale(faults.ReorderWindow, holdBack);
        else
        {
            // Jitter alone never reorders, as on a real link: a frame leaves no earlier than the one before it.
            if (due < lastInOrderDue) due = lastInOrderDue;
            lastInOrderDue = due;
        }
        int corruptBit = length > 0 && corrupt < faults.Corrupt ? (int)(bit * length * 8) : -1;
        return new FrameFate(false, duplicate < faults.Duplicate ? 2 : 1, due, reordered, corruptBit);
    }

    private static TimeSpan Scale(TimeSpan max, double fraction) => TimeSpan.FromTicks((long)(max.Ticks * fraction));
}
