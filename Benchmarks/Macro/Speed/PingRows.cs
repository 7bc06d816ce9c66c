using System.Globalization;
using System.Text.RegularExpressions;
using UserStack.Tools.Scene;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>Round-trip times of one ping run, from every reply line.</summary>
public readonly record struct PingStats(int Sent, int Received, double AverageMs, double MedianMs, double P90Ms)
{
    public string Note => $"median {MedianMs:0.000} ms, p90 {P90Ms:0.000} ms, {Received}/{Sent} replies";
}

/// <summary>
/// iputils ping from the client namespace, 200 echo requests 10 ms apart (root may go below
/// 200 ms), to UserStack over the TAP and to the kernel over the veth; every reply line is parsed
/// so that the median and 90th percentile come with the average. Bounded by count and -w.
/// </summary>
public static partial class PingRows
{
    public const int Count = 200;

    public static PingStats Measure(NetworkNamespace ns, string target)
    {
        ns.Exec(TimeSpan.FromSeconds(15), "ping", "-c", "10", "-i", "0.01", "-w", "10", target); // warm-up: ARP, the stack's code paths
        var r = ns.Exec(TimeSpan.FromSeconds(60), "ping", "-c", Count.ToString(), "-i", "0.01", "-W", "1", "-w", "30", target);
        var times = Time().Matches(r.Output).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order().ToArray();
        if (times.Length == 0) throw new InvalidOperationException($"no ping replies from {target}: {r.Output}{r.Error}");
        return new PingStats(Count, times.Length, times.Average(), Percentile(times, 0.5), Percentile(times, 0.9));
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    [GeneratedRegex(@"time=([0-9.]+) ms")]
    private static partial Regex Time();
}
