using System.Buffers;
using System.Diagnostics;

namespace UserStack.Drivers.Faults;

/// <summary>
/// One direction of a lossy link: decides each frame's fate under a lock (seeded, so in order),
/// then passes it on at once or through the <see cref="DelayLine"/>. When the direction delays at
/// all, every frame takes the line, so frames reach <c>output</c> from one thread in due order.
/// </summary>
internal sealed class FaultPath : IDisposable
{
    private readonly object gate = new();
    private readonly FaultDecisions decisions;
    private readonly Stopwatch clock;
    private readonly FrameHandler output;
    private readonly DelayLine? line;

    public FaultPath(string name, LinkFaults faults, FaultDirection direction, Stopwatch clock, FrameHandler output)
    {
        decisions = new FaultDecisions(faults, direction);
        this.clock = clock;
        this.output = output;
        if (faults.Delays) line = new DelayLine(name, clock, faults.QueueLimit, Deliver);
    }

    public FaultCounters Counters { get; } = new();
    public int Waiting => line?.Count ?? 0;

    /// <summary>False when the delay queue had no room (the frame is lost and counted as overflow).</summary>
    public bool Process(ReadOnlySpan<byte> frame)
    {
        Counters.CountFrame();
        FrameFate fate;
        lock (gate)
        {
            fate = decisions.Next(clock.Elapsed, frame.Length);
            // Queued under the lock, so frames with equal due times keep the order they were decided in.
            if (line is not null && !fate.Lost) return Pass(frame, fate, line);
        }
        if (fate.Lost) { Counters.CountLost(); return true; }
        return Pass(frame, fate, null); // outside the lock: the inner device's write may be a syscall
    }

    private bool Pass(ReadOnlySpan<byte> frame, FrameFate fate, DelayLine? line)
    {
        if (fate.Reordered) Counters.CountReordered();
        if (fate.Copies > 1) Counters.CountDuplicated();
        byte[]? corrupted = null;
        if (fate.CorruptBit >= 0)
        {
            Counters.CountCorrupted();
            corrupted = ArrayPool<byte>.Shared.Rent(frame.Length);
            frame.CopyTo(corrupted);
            corrupted[fate.CorruptBit / 8] ^= (byte)(1 << (fate.CorruptBit % 8));
            frame = corrupted.AsSpan(0, frame.Length);
        }
        bool accepted = true;
        for (int i = 0; i < fate.Copies; i++)
        {
            if (line is null) Deliver(frame);
            else if (!line.TryEnqueue(frame, fate.Due)) { Counters.CountOverflowed(); accepted = false; }
        }
        if (corrupted is not null) ArrayPool<byte>.Shared.Return(corrupted);
        return accepted;
    }

    private void Deliver(ReadOnlySpan<byte> frame)
    {
        Counters.CountDelivered();
        output(frame);
    }

    public void Dispose() => line?.Dispose();
}
