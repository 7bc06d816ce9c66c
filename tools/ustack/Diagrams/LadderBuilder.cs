using System.Globalization;
using System.Text.RegularExpressions;

namespace UserStack.Tools.Diagrams;

/// <summary>Which TCP conversation to draw: the first one, or the first with this port and/or host.</summary>
public sealed record ConversationChoice(ushort? Port = null, string? Host = null)
{
    public static ConversationChoice First { get; } = new();
    public bool Matches(string host, ushort port, string otherHost, ushort otherPort) =>
        (Port is not { } p || p == port || p == otherPort) && (Host is not { } h || h == host || h == otherHost);
}

/// <summary>
/// Builds the ladder of one TCP conversation from observations: picks the conversation, puts the host
/// that sent the first SYN on the left, parses each tcpdump line (flags, relative seq/ack, win, length,
/// wscale of the SYNs), marks retransmissions (data or SYN/FIN at or below the highest sequence already
/// sent that way, as tcptrace does, or a note that says so) and places the connection's events beside their host.
/// </summary>
public static partial class LadderBuilder
{
    [GeneratedRegex(@"^IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): (Flags|tcp, bad cksum)")]
    private static partial Regex TcpLine();

    [GeneratedRegex(@"Flags \[([^\]]+)\](?:, seq (\d+)(?::\d+)?)?(?:, ack (\d+))?, win (\d+)(?:, urg \d+)?(?:, options \[([^\]]*)\])?, length (\d+)")]
    private static partial Regex TcpFields();

    [GeneratedRegex(@"wscale (\d+)")]
    private static partial Regex WindowScaleOption();

    private readonly record struct Parsed(Observation From, string Source, string Destination, LadderSegment Segment, int? OfferedScale);

    public static LadderDiagram Build(IReadOnlyList<Observation> observations, ConversationChoice choice)
    {
        var frames = new List<Parsed>();
        foreach (var o in observations)
            if (o.Frame is { } text && TryParse(o, text) is { } p) frames.Add(p);

        var first = frames.FirstOrDefault(f => choice.Matches(Host(f.Source), Port(f.Source), Host(f.Destination), Port(f.Destination)));
        if (first.Source is null)
            throw new InvalidOperationException(choice == ConversationChoice.First ? "no TCP segment in the file" : $"no TCP conversation{(choice.Port is { } port ? $" on port {port}" : "")}{(choice.Host is { } h ? $" with host {h}" : "")} in the file");
        var pair = new HashSet<string> { first.Source, first.Destination };
        var mine = frames.Where(f => pair.Contains(f.Source) && pair.Contains(f.Destination)).ToList();
        var opener = mine.FirstOrDefault(f => f.Segment.Flags == "S");
        string left = opener.Source ?? first.Source, right = left == first.Source ? first.Destination : first.Source;

        // RFC 7323 §2.2: the window is scaled only when both SYNs carried the option.
        int? leftScale = mine.FirstOrDefault(f => f.Source == left && f.Segment.Flags.Contains('S')).OfferedScale;
        int? rightScale = mine.FirstOrDefault(f => f.Source == right && f.Segment.Flags.Contains('S')).OfferedScale;
        bool scaled = leftScale is not null && rightScale is not null;

        var highest = new Dictionary<string, uint>();
        var byFrame = new Dictionary<Observation, Parsed>(ReferenceEqualityComparer.Instance);
        foreach (var f in mine) byFrame[f.From] = f;
        var steps = new List<LadderStep>();
        var congestion = new List<(double, int, bool)>();
        double start = mine[0].From.Time, end = mine[^1].From.Time;
        foreach (var o in observations)
        {
            if (o.Frame is not null)
            {
                if (!byFrame.TryGetValue(o, out var f)) continue;
                var s = f.Segment;
                if (scaled && !s.Flags.Contains('S')) s = s with { WindowScale = f.Source == left ? leftScale!.Value : rightScale!.Value };
                bool occupiesSequence = s.Length > 0 || s.Flags.Contains('S') || s.Flags.Contains('F');
                if (occupiesSequence && s.Sequence is not null && !s.BadChecksum)
                {
                    bool seen = highest.TryGetValue(f.Source, out var top);
                    if ((seen && s.End <= top) || (o.Note?.Contains("retransmission", StringComparison.OrdinalIgnoreCase) ?? false)) s = s with { IsRetransmission = true };
                    if (!seen || s.End > top) highest[f.Source] = s.End;
                }
                steps.Add(LadderStep.Frame(o.Time, f.Source == left, s, o.Note));
            }
            else if (o.Event is { } text)
            {
                if (o.Connection is { } c)
                {
                    var ends = c.Split('-');
                    if (ends.Length != 2 || !pair.Contains(ends[0]) || !pair.Contains(ends[1])) continue;
                    steps.Add(LadderStep.Event(o.Time, ends[0] == left, text));
                    if (o.Cwnd is { } w) congestion.Add((o.Time, w, ends[0] == left));
                }
                else if (o.Time >= start && o.Time <= end) steps.Add(LadderStep.Event(o.Time, LastReceiver(steps) ?? true, text)); // a drop: beside the host that just received
            }
        }
        return new LadderDiagram(left, right, steps) { Congestion = congestion };
    }

    private static bool? LastReceiver(List<LadderStep> steps)
    {
        for (int i = steps.Count - 1; i >= 0; i--)
            if (steps[i].IsArrow) return steps[i].Arrow == LadderArrow.RightToLeft;
        return null;
    }

    private static Parsed? TryParse(Observation o, string text)
    {
        var m = TcpLine().Match(text);
        if (!m.Success) return null;
        string source = $"{m.Groups[1].Value}:{m.Groups[2].Value}", destination = $"{m.Groups[3].Value}:{m.Groups[4].Value}";
        if (m.Groups[5].Value != "Flags") return new Parsed(o, source, destination, new LadderSegment("?", null, null, 0, 0, BadChecksum: true), null);
        var f = TcpFields().Match(text, m.Index + m.Length - 5);
        if (!f.Success) return null;
        uint? U(Group g) => g.Success ? uint.Parse(g.Value, CultureInfo.InvariantCulture) : null;
        int? scale = null;
        if (f.Groups[5].Success && WindowScaleOption().Match(f.Groups[5].Value) is { Success: true } ws) scale = int.Parse(ws.Groups[1].Value, CultureInfo.InvariantCulture);
        var segment = new LadderSegment(f.Groups[1].Value, U(f.Groups[2]), U(f.Groups[3]), int.Parse(f.Groups[6].Value, CultureInfo.InvariantCulture), int.Parse(f.Groups[4].Value, CultureInfo.InvariantCulture));
        return new Parsed(o, source, destination, segment, scale);
    }

    private static string Host(string endpoint) => endpoint[..endpoint.LastIndexOf(':')];
    private static ushort Port(string endpoint) => ushort.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
}
