using System.Globalization;

namespace UserStack.Drivers.Faults;

/// <summary>Which frames a <see cref="FaultInjectingDevice"/> tampers with.</summary>
public enum FaultDirection
{
    /// <summary>Frames the device receives and frames sent through it: each way of the link is lossy once.</summary>
    Both,
    Receive,
    Send,
}

/// <summary>
/// What a lossy link does to frames, on the real clock: each fault a probability per frame,
/// plus latency. Decisions come from generators seeded by <see cref="Seed"/>, so a run is
/// reproducible. Written and read as a spec string: <c>loss=1%,delay=10ms,jitter=1ms,seed=7</c>.
/// </summary>
public sealed record LinkFaults
{
    public double Loss { get; init; }
    public double Duplicate { get; init; }
    /// <summary>Chance that a frame is held back by up to <see cref="ReorderWindow"/> more, letting later frames pass it.</summary>
    public double Reorder { get; init; }
    /// <summary>Chance that one random bit of the frame is flipped (checksums should catch it).</summary>
    public double Corrupt { get; init; }
    public TimeSpan Delay { get; init; }
    /// <summary>Uniform extra delay in [0, Jitter); frames still leave in order (only <see cref="Reorder"/> reorders).</summary>
    public TimeSpan Jitter { get; init; }
    public TimeSpan ReorderWindow { get; init; } = DefaultReorderWindow;
    public int Seed { get; init; } = 1;
    public FaultDirection Direction { get; init; } = FaultDirection.Both;
    /// <summary>Frames held for delay per direction; more are dropped and counted as overflow.</summary>
    public int QueueLimit { get; init; } = DefaultQueueLimit;

    public static readonly TimeSpan DefaultReorderWindow = TimeSpan.FromMilliseconds(5);
    public const int DefaultQueueLimit = 10_000;

    public static LinkFaults None { get; } = new();

    /// <summary>True when frames may wait: then every frame of that direction goes through the delay queue.</summary>
    public bool Delays => Delay > TimeSpan.Zero || Jitter > TimeSpan.Zero || Reorder > 0;

    public bool Applies(FaultDirection direction) => Direction == FaultDirection.Both || Direction == direction;

    private static readonly string[] Keys = ["loss", "delay", "jitter", "dup", "reorder", "corrupt", "reorder-window", "direction", "queue", "seed"];

    /// <summary>
    /// Reads a spec such as <c>loss=1%,delay=10ms,jitter=1ms,dup=0.1%,reorder=0.5%,seed=7</c>.
    /// Probabilities are percentages (<c>1%</c>) or fractions (<c>0.01</c>); durations need a unit
    /// (<c>us</c>, <c>ms</c>, <c>s</c>). <c>none</c> is the empty model.
    /// </summary>
    /// <exception cref="FormatException">the message names the offending item and what is expected.</exception>
    public static LinkFaults Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var text = spec.Trim();
        if (text.Length == 0) throw new FormatException($"empty fault spec: expected items such as loss=1%,delay=10ms,seed=7 (keys: {string.Join(", ", Keys)}) or 'none'");
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase)) return None;

        var faults = new LinkFaults();
        var seen = new HashSet<string>();
        foreach (var raw in text.Split(','))
        {
            var item = raw.Trim();
            int eq = item.IndexOf('=');
            if (eq <= 0 || eq == item.Length - 1)
                throw new FormatException($"fault spec item '{item}' is not KEY=VALUE (e.g. loss=1%)");
            var key = Canonical(item[..eq].Trim().ToLowerInvariant());
            var value = item[(eq + 1)..].Trim();
            if (!Keys.Contains(key))
                throw new FormatException($"unknown fault '{item[..eq].Trim()}' in '{item}': known keys are {string.Join(", ", Keys)}");
            if (!seen.Add(key)) throw new FormatException($"fault '{key}' is given twice in '{spec}'");
            faults = key switch
            {
                "loss" => faults with { Loss = Probability(key, value) },
                "dup" => faults with { Duplicate = Probability(key, value) },
                "reorder" => faults with { Reorder = Probability(key, value) },
                "corrupt" => faults with { Corrupt = Probability(key, value) },
                "delay" => faults with { Delay = Duration(key, value) },
                "jitter" => faults with { Jitter = Duration(key, value) },
                "reorder-window" => faults with { ReorderWindow = Duration(key, value) },
                "seed" => faults with { Seed = int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s) ? s : throw new FormatException($"seed={value}: expected a whole number (e.g. seed=7)") },
                "direction" => faults with { Direction = ParseDirection(value) },
                "queue" => faults with { QueueLimit = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var q) && q > 0 ? q : throw new FormatException($"queue={value}: expected a positive number of frames (e.g. queue=10000)") },
                _ => throw new FormatException($"unknown fault '{key}'"),
            };
        }
        return faults;
    }

    // Long names read well in code, short ones on a command line: accept both.
    private static string Canonical(string key) => key switch
    {
        "drop" => "loss",
        "duplicate" => "dup",
        "window" => "reorder-window",
        "dir" => "direction",
        _ => key,
    };

    private static double Probability(string key, string value)
    {
        bool percent = value.EndsWith('%');
        var number = percent ? value[..^1].Trim() : value;
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var p))
            throw new FormatException($"{key}={value}: expected a percentage (e.g. {key}=1%) or a fraction between 0 and 1");
        // A bare 1 is far more likely a forgotten % than a request to lose everything: say so.
        if (!percent && p >= 1) throw new FormatException($"{key}={value}: a fraction must be below 1 (did you mean {key}={number}%? {key}=100% loses every frame)");
        if (percent) p /= 100;
        if (p > 1) throw new FormatException($"{key}={value}: a probability cannot exceed 100%");
        return p;
    }

    private static TimeSpan Duration(string key, string value)
    {
        var (number, scale) = value switch
        {
            _ when value.EndsWith("ms") => (value[..^2], 1e-3),
            _ when value.EndsWith("us") || value.EndsWith("µs") => (value[..^2], 1e-6),
            _ when value.EndsWith('s') => (value[..^1], 1.0),
            _ => throw new FormatException($"{key}={value}: give a unit, e.g. {key}=10ms (us, ms or s)"),
        };
        if (!double.TryParse(number.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            throw new FormatException($"{key}={value}: expected a non-negative duration such as {key}=10ms");
        double seconds = amount * scale;
        if (seconds > 60) throw new FormatException($"{key}={value}: at most 60 s");
        return TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
    }

    private static FaultDirection ParseDirection(string value) => value.ToLowerInvariant() switch
    {
        "both" => FaultDirection.Both,
        "receive" or "rx" or "in" => FaultDirection.Receive,
        "send" or "tx" or "out" => FaultDirection.Send,
        _ => throw new FormatException($"direction={value}: expected both, receive (rx) or send (tx)"),
    };

    /// <summary>The spec again, non-default items only (Parse reads it back to an equal record).</summary>
    public override string ToString()
    {
        var items = new List<string>();
        void Add(bool present, string item) { if (present) items.Add(item); }
        Add(Loss > 0, $"loss={Percent(Loss)}");
        Add(Delay > TimeSpan.Zero, $"delay={Millis(Delay)}");
        Add(Jitter > TimeSpan.Zero, $"jitter={Millis(Jitter)}");
        Add(Duplicate > 0, $"dup={Percent(Duplicate)}");
        Add(Reorder > 0, $"reorder={Percent(Reorder)}");
        Add(Corrupt > 0, $"corrupt={Percent(Corrupt)}");
        Add(ReorderWindow != DefaultReorderWindow, $"reorder-window={Millis(ReorderWindow)}");
        Add(Direction != FaultDirection.Both, $"direction={Direction.ToString().ToLowerInvariant()}");
        Add(QueueLimit != DefaultQueueLimit, $"queue={QueueLimit}");
        items.Add($"seed={Seed}");
        return string.Join(',', items);
    }

    private static string Percent(double p) => (p * 100).ToString("0.##########", CultureInfo.InvariantCulture) + "%";
    private static string Millis(TimeSpan t) => t.TotalMilliseconds.ToString("0.####", CultureInfo.InvariantCulture) + "ms";
}
