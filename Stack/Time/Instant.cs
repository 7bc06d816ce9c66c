namespace UserStack.Time;

/// <summary>
/// A point on the stack's clock, in microseconds since an arbitrary start. The core never
/// reads a clock: the host or the virtual wire hands it an <see cref="Instant"/> on every call.
/// </summary>
public readonly record struct Instant(long Microseconds) : IComparable<Instant>
{
    public static Instant Zero { get; } = new(0);
    public static Instant MaxValue { get; } = new(long.MaxValue);

    public static Instant FromMilliseconds(long ms) => new(ms * 1000);
    public long Milliseconds => Microseconds / 1000;

    public static Instant operator +(Instant t, TimeSpan d) => new(t.Microseconds + (long)(d.Ticks / TimeSpan.TicksPerMicrosecond));
    public static Instant operator -(Instant t, TimeSpan d) => new(t.Microseconds - (long)(d.Ticks / TimeSpan.TicksPerMicrosecond));
    public static TimeSpan operator -(Instant a, Instant b) => TimeSpan.FromTicks((a.Microseconds - b.Microseconds) * TimeSpan.TicksPerMicrosecond);
    public static bool operator <(Instant a, Instant b) => a.Microseconds < b.Microseconds;
    public static bool operator >(Instant a, Instant b) => a.Microseconds > b.Microseconds;
    public static bool operator <=(Instant a, Instant b) => a.Microseconds <= b.Microseconds;
    public static bool operator >=(Instant a, Instant b) => a.Microseconds >= b.Microseconds;

    public static Instant Min(Instant a, Instant b) => a < b ? a : b;
    public int CompareTo(Instant other) => Microseconds.CompareTo(other.Microseconds);
    public override string ToString() => $"{Microseconds / 1_000_000}.{Microseconds % 1_000_000:D6}s";
}
