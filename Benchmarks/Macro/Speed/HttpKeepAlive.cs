using System.Globalization;
using System.Text.RegularExpressions;
using UserStack.Tools.Scene;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>What wrk reported: requests per second, average latency, and its error line if any.</summary>
public readonly record struct WrkResult(double RequestsPerSecond, string Latency, string? Errors, string Command)
{
    public string Note => $"latency avg {Latency}, {Command}{(Errors is null ? "" : $"; {Errors}")}";
}

/// <summary>
/// HTTP/1.1 keep-alive requests per second: wrk (Debian package `wrk`) in the client namespace
/// against UserStack's HTTP daemon (GET /, the status page), bounded by -d and a process timeout.
/// aspnet-wrk uses the same call against Kestrel.
/// </summary>
public static partial class HttpKeepAlive
{
    public const int Connections = 50, WrkThreads = 2;

    /// <summary>wrk with the table's settings (-t2 -c50).</summary>
    public static WrkResult Measure(NetworkNamespace ns, string url, TimeSpan duration) => Measure(ns, url, duration, Connections, WrkThreads);

    public static WrkResult Measure(NetworkNamespace ns, string url, TimeSpan duration, int connections, int threads)
    {
        if (!Shell.Exists("wrk")) throw new InvalidOperationException("wrk is not installed (apt-get install wrk)");
        int seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        string[] arguments = [$"-t{threads}", $"-c{connections}", $"-d{seconds}s", url];
        var r = ns.Exec(TimeSpan.FromSeconds(seconds + 30), "wrk", arguments);
        var rps = RequestsPerSecond().Match(r.Output);
        if (!rps.Success) throw new InvalidOperationException($"wrk said: {(r.Output + r.Error).Trim()}");
        var latency = Latency().Match(r.Output);
        var errors = r.Output.Split('\n').FirstOrDefault(l => l.Contains("Socket errors") || l.Contains("Non-2xx"))?.Trim();
        return new WrkResult(double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture), latency.Success ? latency.Groups[1].Value : "-", errors, $"wrk {string.Join(' ', arguments[..^1])}");
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();
    [GeneratedRegex(@"Latency\s+(\S+)")]
    private static partial Regex Latency();
}
