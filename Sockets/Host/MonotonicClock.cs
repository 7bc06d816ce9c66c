using System.Diagnostics;
using UserStack.Time;

namespace UserStack.Sockets.Host;

/// <summary>Where a host reads the time it hands to the core.</summary>
public interface IHostClock
{
    Instant Now { get; }
}

/// <summary>The real clock: monotonic microseconds since the host started.</summary>
public sealed class MonotonicClock : IHostClock
{
    private readonly long start = Stopwatch.GetTimestamp();
    public Instant Now => new((long)((Stopwatch.GetTimestamp() - start) * (1_000_000.0 / Stopwatch.Frequency)));
}

/// <summary>
/// A clock that moves only when told (<see cref="StackHost.AdvanceTo"/>): script runners and the
/// packetdrill adapter run the real socket API on it, so timers fire exactly when a script says.
/// </summary>
public sealed class VirtualClock(Instant start) : IHostClock
{
    private long now = start.Microseconds;
    public Instant Now => new(Interlocked.Read(ref now));
    internal void Set(Instant value) => Interlocked.Exchange(ref now, value.Microseconds);
}
