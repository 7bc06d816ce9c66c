using System.Globalization;
using System.Text.RegularExpressions;

namespace UserStack.Tools.Scene;

/// <summary>What iputils `ping` reported: counts, loss, RTTs, and whether any reply's data differed.</summary>
public sealed partial record PingResult(int Transmitted, int Received, int Duplicates, bool WrongData, double? RttAverageMs, string Output)
{
    public int Lost => Transmitted - Received;
    public bool AllAnswered => Transmitted > 0 && Received == Transmitted && !WrongData;

    public static PingResult Parse(string output)
    {
        var counts = Counts().Match(output);
        var rtt = Rtt().Match(output);
        var dup = Duplicate().Match(output);
        return new PingResult(
            counts.Success ? int.Parse(counts.Groups[1].Value) : 0,
            counts.Success ? int.Parse(counts.Groups[2].Value) : 0,
            dup.Success ? int.Parse(dup.Groups[1].Value) : 0,
            output.Contains("wrong data byte", StringComparison.Ordinal),
            rtt.Success ? double.Parse(rtt.Groups[1].Value, CultureInfo.InvariantCulture) : null,
            output);
    }

    [GeneratedRegex(@"(\d+) packets transmitted, (\d+) (?:packets )?received")]
    private static partial Regex Counts();
    [GeneratedRegex(@"= [\d.]+/([\d.]+)/[\d.]+")]
    private static partial Regex Rtt();
    [GeneratedRegex(@"\+(\d+) duplicates")]
    private static partial Regex Duplicate();
}
