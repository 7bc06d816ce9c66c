namespace UserStack.Drivers.Virtual;

/// <summary>
/// What the virtual wire does to frames, each a probability per frame, plus latency.
/// Everything is drawn from one seeded generator, so a run is reproducible from its seed.
/// </summary>
public sealed record WireFaults
{
    public double Drop { get; init; }
    public double Duplicate { get; init; }
    /// <summary>Chance that a frame is held back by up to <see cref="ReorderWindow"/>, letting later ones pass it.</summary>
    public double Reorder { get; init; }
    /// <summary>Chance that one random bit of the frame is flipped.</summary>
    public double Corrupt { get; init; }
    public TimeSpan Delay { get; init; }
    /// <summary>Uniform extra delay in [0, Jitter) added to every frame.</summary>
    public TimeSpan Jitter { get; init; }
    public TimeSpan ReorderWindow { get; init; } = TimeSpan.FromMilliseconds(5);

    public static WireFaults None { get; } = new();

    public override string ToString() =>
        $"drop={Drop:P0} dup={Duplicate:P0} reorder={Reorder:P0} corrupt={Corrupt:P0} delay={Delay.TotalMilliseconds}ms jitter={Jitter.TotalMilliseconds}ms";
}
