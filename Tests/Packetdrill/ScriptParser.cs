using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using UserStack.Wire;

namespace UserStack.Tests.Packetdrill;

/// <summary>When a line happens: absolute seconds, relative to the previous line (+), or any time (*).</summary>
public readonly record struct ScriptTime(double Seconds, bool Relative, bool Any);

/// <summary>One line of a script.</summary>
public abstract record ScriptEvent(int Line, ScriptTime Time, string Text);

/// <summary>`&lt;` a segment the script injects, or `&gt;` one it expects from the stack.</summary>
public sealed record PacketEvent(int Line, ScriptTime Time, string Text, bool Inbound, TcpFlags Flags, uint Start, uint End, uint? Ack, ushort? Window, TcpOptionsRepr? Options)
    : ScriptEvent(Line, Time, Text)
{
    public int Length => (int)(End - Start);
}

/// <summary>`&lt; icmp TYPE CODE [mtu N] [start:end(len)]`: an ICMP error about a segment the stack sent (seq relative to its ISN).</summary>
public sealed record IcmpEvent(int Line, ScriptTime Time, string Text, IcmpType Type, byte Code, ushort? Mtu, uint Start, uint End)
    : ScriptEvent(Line, Time, Text);

/// <summary>A socket call with its expected result and errno.</summary>
public sealed record CallEvent(int Line, ScriptTime Time, string Text, string Name, string[] Arguments, long Result, string? Errno)
    : ScriptEvent(Line, Time, Text);

/// <summary>
/// Parses the packetdrill language (google/packetdrill): timing, `&lt;`/`&gt;` TCP segments with
/// flags, relative seq:end(len), ack, win and options, and socket calls with results. The subset
/// that UserStack's TCP needs; anything else is an error naming the line.
/// </summary>
public static partial class ScriptParser
{
    public static List<ScriptEvent> Parse(string text)
    {
        text = BlockComment().Replace(text, m => new string('\n', m.Value.Count(c => c == '\n')));
        var events = new List<ScriptEvent>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            int comment = line.IndexOf("//", StringComparison.Ordinal);
            if (comment >= 0) line = line[..comment];
            line = line.Trim();
            if (line.Length == 0) continue;
            try { events.Add(ParseLine(i + 1, line)); }
            catch (FormatException e) { throw new FormatException($"line {i + 1}: {e.Message}: {line}"); }
        }
        return events;
    }

    private static ScriptEvent ParseLine(int number, string line)
    {
        int space = line.IndexOfAny([' ', '\t']);
        if (space < 0) throw new FormatException("expected a time and an event");
        var time = ParseTime(line[..space]);
        var rest = line[space..].Trim();
        if (rest.StartsWith('<') && Icmp().Match(rest) is { Success: true } icmp) return ParseIcmp(number, time, rest, icmp);
        if (rest.StartsWith('<') || rest.StartsWith('>')) return ParsePacket(number, time, rest);
        return ParseCall(number, time, rest);
    }

    private static ScriptTime ParseTime(string text)
    {
        if (text == "*") return new ScriptTime(0, false, true);
        bool relative = text.StartsWith('+');
        if (!double.TryParse(relative ? text[1..] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            throw new FormatException($"bad time '{text}'");
        return new ScriptTime(seconds, relative, false);
    }

    private static PacketEvent ParsePacket(int number, ScriptTime time, string text)
    {
        var m = Packet().Match(text);
        if (!m.Success) throw new FormatException("bad packet line (expected e.g. '< S 0:0(0) win 1000 <mss 1460>')");
        var flags = TcpFlags.None;
        foreach (var c in m.Groups["flags"].Value)
            flags |= c switch
            {
                'S' => TcpFlags.Syn, 'F' => TcpFlags.Fin, 'R' => TcpFlags.Rst, 'P' => TcpFlags.Psh, '.' => TcpFlags.Ack,
                'E' => TcpFlags.Ece, 'W' => TcpFlags.Cwr, 'U' => TcpFlags.Urg,
                _ => throw new FormatException($"unknown flag '{c}'"),
            };
        uint start = uint.Parse(m.Groups["start"].Value), end = uint.Parse(m.Groups["end"].Value), length = uint.Parse(m.Groups["len"].Value);
        if (end - start != length) throw new FormatException($"{start}:{end} is not {length} bytes");
        uint? ack = m.Groups["ack"].Success ? uint.Parse(m.Groups["ack"].Value) : null;
        if (ack is not null) flags |= TcpFlags.Ack;
        ushort? window = m.Groups["win"].Success ? ushort.Parse(m.Groups["win"].Value) : null;
        TcpOptionsRepr? options = m.Groups["opts"].Success ? ParseOptions(m.Groups["opts"].Value) : null;
        return new PacketEvent(number, time, text, text[0] == '<', flags, start, end, ack, window, options);
    }

    /// <summary>
    /// A packet line's options as packetdrill writes them, comma-separated: `mss N`, `sackOK`,
    /// `wscale N`, `TS val N ecr N`, `sack A:B C:D ...` (1 to 4 blocks), `nop`, `eol`; `...` alone
    /// means "do not check" (null). Numbers stay as the script wrote them (sack edges relative to
    /// an ISN, TS values as in the script): the runner maps them to and from the wire. nop and
    /// eol only pad the header, so they are accepted and not kept.
    /// </summary>
    internal static TcpOptionsRepr? ParseOptions(string text)
    {
        if (text.Trim() == "...") return null;
        var repr = new TcpOptionsRepr();
        foreach (var option in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var words = option.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            repr = (words[0], words.Length) switch
            {
                ("mss", 2) => repr with { MaximumSegmentSize = Number<ushort>(words[1]) },
                ("wscale", 2) => repr with { WindowScale = Number<byte>(words[1]) },
                ("sackOK", 1) => repr with { SackPermitted = true },
                ("TS", 5) when words[1] == "val" && words[3] == "ecr" => repr with { Timestamps = (Number<uint>(words[2]), Number<uint>(words[4])) },
                ("sack", > 1) => repr with { Sack = ParseSackBlocks(words[1..]) },
                ("nop" or "eol", 1) => repr,
                _ => throw new FormatException($"unknown option '{option}'"),
            };
        }
        return repr;
    }

    private static SackBlocks ParseSackBlocks(string[] blocks)
    {
        if (blocks.Length > SackBlocks.Capacity) throw new FormatException($"at most {SackBlocks.Capacity} sack blocks fit in a segment");
        var result = default(SackBlocks);
        foreach (var block in blocks)
        {
            var edges = block.Split(':');
            if (edges.Length != 2) throw new FormatException($"bad sack block '{block}' (expected left:right)");
            result = result.With(new SackBlock(new SeqNumber(Number<uint>(edges[0])), new SeqNumber(Number<uint>(edges[1]))));
        }
        return result;
    }

    private static T Number<T>(string text) where T : IBinaryInteger<T> =>
        T.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw new FormatException($"bad number '{text}'");

    /// <summary>packetdrill's ICMP error names (RFC 792 types 3 and 11 and their codes).</summary>
    private static IcmpEvent ParseIcmp(int number, ScriptTime time, string text, Match m)
    {
        var (type, code) = (m.Groups["type"].Value, m.Groups["code"].Value) switch
        {
            ("unreachable", "net_unreachable") => (IcmpType.DestinationUnreachable, (byte)0),
            ("unreachable", "host_unreachable") => (IcmpType.DestinationUnreachable, (byte)1),
            ("unreachable", "protocol_unreachable") => (IcmpType.DestinationUnreachable, (byte)2),
            ("unreachable", "port_unreachable") => (IcmpType.DestinationUnreachable, (byte)3),
            ("unreachable", "frag_needed") => (IcmpType.DestinationUnreachable, (byte)4),
            ("unreachable", "source_route_failed") => (IcmpType.DestinationUnreachable, (byte)5),
            ("time_exceeded", "ttl_exceeded" or "ttl") => (IcmpType.TimeExceeded, (byte)0),
            var (t, c) => throw new FormatException($"unknown ICMP error '{t} {c}'"),
        };
        var range = m.Groups["range1"].Success ? m.Groups["range1"] : m.Groups["range2"];
        uint start = 0, end = 0;
        if (range.Success)
        {
            var r = Range().Match(range.Value);
            start = uint.Parse(r.Groups["start"].Value);
            end = uint.Parse(r.Groups["end"].Value);
        }
        ushort? mtu = m.Groups["mtu"].Success ? ushort.Parse(m.Groups["mtu"].Value) : null;
        return new IcmpEvent(number, time, text, type, code, mtu, start, end);
    }

    private static CallEvent ParseCall(int number, ScriptTime time, string text)
    {
        var m = Call().Match(text);
        if (!m.Success) throw new FormatException("bad call (expected e.g. 'listen(3, 1) = 0')");
        var args = SplitArguments(m.Groups["args"].Value);
        return new CallEvent(number, time, text, m.Groups["name"].Value, args, long.Parse(m.Groups["result"].Value), m.Groups["errno"].Success ? m.Groups["errno"].Value : null);
    }

    private static string[] SplitArguments(string text)
    {
        var result = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is '[' or '{' or '(') depth++;
            else if (text[i] is ']' or '}' or ')') depth--;
            else if (text[i] == ',' && depth == 0) { result.Add(text[start..i].Trim()); start = i + 1; }
        }
        if (text.Trim().Length > 0) result.Add(text[start..].Trim());
        return result.ToArray();
    }

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();

    [GeneratedRegex(@"^[<>]\s+(?<flags>[SFRP.EWU]+)\s+(?<start>\d+):(?<end>\d+)\((?<len>\d+)\)(?:\s+ack\s+(?<ack>\d+))?(?:\s+win\s+(?<win>\d+))?(?:\s+<(?<opts>[^>]*)>)?\s*$")]
    private static partial Regex Packet();

    [GeneratedRegex(@"^<\s+(?:\[(?<range1>[^\]]*)\]\s+)?icmp\s+(?<type>\w+)\s+(?<code>\w+)(?:\s+mtu\s+(?<mtu>\d+))?(?:\s+\[(?<range2>[^\]]*)\])?\s*>?\s*$")]
    private static partial Regex Icmp();

    [GeneratedRegex(@"^(?<start>\d+):(?<end>\d+)\((?<len>\d+)\)$")]
    private static partial Regex Range();

    [GeneratedRegex(@"^(?<name>\w+)\((?<args>.*)\)\s*=\s*(?<result>-?\d+)(?:\s+(?<errno>E[A-Z]+))?(?:\s*\(.*\))?\s*$")]
    private static partial Regex Call();
}
