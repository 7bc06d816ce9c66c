using System.Globalization;
using System.Text;

namespace UserStack.Sockets.Daemons;

/// <summary>The classic small services (RFC 862, 863, 867, 864), one name each, as `--daemons` takes them.</summary>
public enum DaemonKind
{
    Echo = 7,
    Discard = 9,
    Daytime = 13,
    Chargen = 19,
    Http = 80,
}

public static class DaemonKinds
{
    public static IReadOnlyList<DaemonKind> All { get; } = [DaemonKind.Echo, DaemonKind.Discard, DaemonKind.Daytime, DaemonKind.Chargen, DaemonKind.Http];

    /// <summary>Parses "all" or a comma-separated list such as "echo,daytime".</summary>
    public static IReadOnlyList<DaemonKind> Parse(string text)
    {
        if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)) return All;
        var list = new List<DaemonKind>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<DaemonKind>(part, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || int.TryParse(part, out _))
                throw new FormatException($"unknown daemon '{part}' (known: {string.Join(", ", All.Select(k => k.ToString().ToLowerInvariant()))}, or all)");
            if (!list.Contains(kind)) list.Add(kind);
        }
        return list;
    }

    public static ushort Port(this DaemonKind kind) => (ushort)kind;

    /// <summary>RFC 867 suggests "Weekday, Month Day, Year Time-Zone".</summary>
    public static string Daytime(DateTime utc) => utc.ToString("dddd, MMMM d, yyyy HH:mm:ss", CultureInfo.InvariantCulture) + "-UTC\r\n";

    /// <summary>RFC 864: the 95 printable ASCII characters, 72 to a line, each line starting one further on.</summary>
    public static byte[] Chargen(int length, int firstLine = 0)
    {
        var output = new byte[length];
        int at = 0;
        for (int line = firstLine; at < length; line++)
        {
            for (int i = 0; i < 72 && at < length; i++) output[at++] = (byte)(' ' + (line + i) % 95);
            if (at < length) output[at++] = (byte)'\r';
            if (at < length) output[at++] = (byte)'\n';
        }
        return output;
    }

    public static string Describe(IEnumerable<DaemonKind> kinds) => string.Join(",", kinds.Select(k => $"{k.ToString().ToLowerInvariant()}/{k.Port()}"));
    internal static readonly Encoding Ascii = Encoding.ASCII;
}
