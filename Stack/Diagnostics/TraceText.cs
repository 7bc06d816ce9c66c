namespace UserStack.Diagnostics;

/// <summary>
/// A trace record as one console line: `0.245000 out IP ...: Flags [S.], ...  # SYN-ACK: answering a SYN, RFC 9293 §3.10.7.2`
/// for frames, `0.245000  tcp 10.0.0.2:7-10.0.0.1:40000 SYN-RECEIVED → ESTABLISHED: ...` for events.
/// With <c>colour</c>, ANSI colours by kind (plain text for pipes, files and golden tests).
/// </summary>
public static class TraceText
{
    private const string Reset = "\u001b[0m", Dim = "\u001b[2m";

    public static string Line(TraceRecord r, bool colour = false)
    {
        string time = r.Time.ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture);
        string body = r.Kind == TraceKind.Frame
            ? $"{r.Direction,-3} {r.Text}"
            : $"{Label(r),-3} {(r.Connection is { } c ? c + " " : "")}{r.Text}";
        string why = r.Kind == TraceKind.Frame && r.Reason is { } reason ? $"  # {reason}, {r.Rule}" : "";
        if (!colour) return $"{time} {body}{why}";
        return $"{Dim}{time}{Reset} {Colour(r)}{body}{Reset}{(why.Length > 0 ? Dim + why + Reset : "")}";
    }

    private static string Label(TraceRecord r) => r.Kind switch
    {
        TraceKind.Drop => "!!",
        TraceKind.State => "tcp",
        TraceKind.Timer => "tmr",
        TraceKind.Congestion => "cc",
        TraceKind.Arp => "arp",
        TraceKind.Echo => "icmp",
        _ => "",
    };

    private static string Colour(TraceRecord r) => r.Kind switch
    {
        TraceKind.Frame when r.Direction == "in" => "\u001b[36m",     // cyan
        TraceKind.Frame => "\u001b[32m",                              // green
        TraceKind.Drop => "\u001b[1;31m",                             // bold red
        TraceKind.State => "\u001b[1;33m",                            // bold yellow
        TraceKind.Timer => "\u001b[35m",                              // magenta
        TraceKind.Congestion => "\u001b[34m",                         // blue
        _ => "\u001b[37m",
    };
}
