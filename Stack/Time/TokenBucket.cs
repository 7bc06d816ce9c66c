namespace UserStack.Time;

/// <summary>A token bucket on the stack's clock: <see cref="TryTake"/> succeeds at most Rate times a second after a burst.</summary>
public sealed class TokenBucket(int ratePerSecond, int burst)
{
    private double tokens = burst;
    private Instant last = Instant.Zero;
    private bool started;

    public bool TryTake(Instant now)
    {
        if (!started) { started = true; last = now; }
        tokens = Math.Min(burst, tokens + (now.Microseconds - last.Microseconds) * ratePerSecond / 1_000_000.0);
        last = now;
        if (tokens < 1) return false;
        tokens -= 1;
        return true;
    }
}
