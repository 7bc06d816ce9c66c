using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using UserStack.Diagnostics;

namespace UserStack.Tools.Labs;

/// <summary>
/// Draws trace records as a two-column ladder: A's frames as arrows to the right, B's to the left,
/// labelled with flags, seq, ack, win and length; why each frame went (and every event of either
/// host) in the margin. One entry point, <see cref="Render"/>, so another ladder renderer can replace it.
/// </summary>
public static partial class LabLadder
{
    private const int ArrowWidth = 56;
    private const string Reset = "\u001b[0m", Dim = "\u001b[2m", Green = "\u001b[32m", Cyan = "\u001b[36m", Red = "\u001b[1;31m", Yellow = "\u001b[1;33m", Magenta = "\u001b[35m", Blue = "\u001b[34m";

    public static string Header(string left, string right) =>
        $"{"",10} {left.PadRight(ArrowWidth + 2 - right.Length)}{right}";

    /// <summary>The ladder lines of <paramref name="items"/> (timer cancellations left out: they happen on every ACK).</summary>
    public static IEnumerable<string> Render(IEnumerable<LadderItem> items, bool colour)
    {
        foreach (var item in items)
        {
            var r = item.Record;
            if (r.Kind == TraceKind.Timer && r.Text.Contains(" cancelled")) continue;
            string time = r.Time.ToString("0.000000", CultureInfo.InvariantCulture).PadLeft(10);
            if (r.Kind == TraceKind.Frame)
            {
                string label = Label(r);
                bool right = item.Host == "A";
                string arrow = Arrow(label, right, item.Lost);
                string why = string.Join("; ", new[] { item.Lost ? "LOST on the wire" : null, item.Note, r.Reason is { } reason ? $"{reason}, {r.Rule}" : null, SynOptions(r) }.Where(s => s is not null));
                string colourOf = item.Lost ? Red : right ? Green : Cyan;
                yield return colour
                    ? $"{Dim}{time}{Reset} │{colourOf}{arrow}{Reset}│ {Dim}{why}{Reset}"
                    : $"{time} │{arrow}│ {why}".TrimEnd();
            }
            else
            {
                string text = $"{item.Host}: {r.Text}";
                yield return colour
                    ? $"{Dim}{time}{Reset} │{new string(' ', ArrowWidth)}│ {EventColour(r.Kind)}{text}{Reset}"
                    : $"{time} │{new string(' ', ArrowWidth)}│ {text}";
            }
        }
    }

    /// <summary>"── S. seq 0 ack 1 win 65535 ──────►" (A to B) or "◄────── S. seq 0 ack 1 ──" (B to A); a lost frame ends in ✕ halfway.</summary>
    private static string Arrow(string label, bool toRight, bool lost)
    {
        int fill = Math.Max(2, ArrowWidth - label.Length - 4);
        if (lost)
        {
            var body = $"─ {label} ─✕";
            return toRight ? body.PadRight(Math.Max(ArrowWidth, body.Length)) : (" ✕─ " + label + " ─").PadLeft(ArrowWidth);
        }
        return toRight ? $"─ {label} {new string('─', fill)}►" : $"◄{new string('─', fill)} {label} ─";
    }

    /// <summary>The short label of a frame: for TCP "flags seq ack win len" (and SACK blocks), for the rest the tcpdump line without its addresses.</summary>
    public static string Label(TraceRecord r)
    {
        var text = r.Text;
        if (r.Protocol == "tcp" && TcpLine().Match(text) is { Success: true } m)
        {
            var b = new StringBuilder(m.Groups["flags"].Value);
            if (m.Groups["seq"].Success) b.Append(" seq ").Append(m.Groups["seq"].Value);
            if (m.Groups["ack"].Success) b.Append(" ack ").Append(m.Groups["ack"].Value);
            b.Append(" win ").Append(m.Groups["win"].Value);
            if (SackOption().Match(text) is { Success: true } s) b.Append(" sack ").Append(s.Groups[1].Value.Trim());
            if (m.Groups["len"].Value != "0") b.Append(" len ").Append(m.Groups["len"].Value);
            return b.ToString();
        }
        if (text.StartsWith("ARP, ", StringComparison.Ordinal)) return LengthSuffix().Replace(text[5..], "");
        int colon = text.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && text.StartsWith("IP ", StringComparison.Ordinal) ? text[(colon + 2)..] : text;
    }

    /// <summary>A SYN's options (what it negotiates) go in the margin: too long for the arrow.</summary>
    private static string? SynOptions(TraceRecord r) =>
        r.Protocol == "tcp" && r.Text.Contains("Flags [S", StringComparison.Ordinal) && SynOptionList().Match(r.Text) is { Success: true } m ? $"options {m.Groups[1].Value}" : null;

    [GeneratedRegex(@"options \[([^\]]*)\]")]
    private static partial Regex SynOptionList();

    private static string EventColour(TraceKind kind) => kind switch
    {
        TraceKind.State => Yellow,
        TraceKind.Drop => Red,
        TraceKind.Timer => Magenta,
        TraceKind.Congestion => Blue,
        _ => "",
    };

    [GeneratedRegex(@"Flags \[(?<flags>[^\]]*)\](?:, seq (?<seq>[\d:]+))?(?:, ack (?<ack>\d+))?, win (?<win>\d+).*, length (?<len>\d+)$")]
    private static partial Regex TcpLine();

    [GeneratedRegex(@"sack \d+ ((?:\{\d+:\d+\} ?)+)")]
    private static partial Regex SackOption();

    [GeneratedRegex(@", length \d+$")]
    private static partial Regex LengthSuffix();
}
