using System.Diagnostics;
using UserStack.Time;

namespace UserStack.Sockets.Host;

/// <summary>The real clock the host hands to the core: monotonic microseconds since the host started.</summary>
public sealed class MonotonicClock
{
    private readonly long start = Stopwatch.GetTimestamp();
    public Instant Now => new((long)((Stopwatch.GetTimestamp() - start) * (1_000_000.0 / Stopwatch.Frequency)));
}
