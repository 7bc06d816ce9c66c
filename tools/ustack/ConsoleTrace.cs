using UserStack.Diagnostics;

namespace UserStack.Tools;

/// <summary>
/// Prints the trace for learners watching the stack work: tcpdump-style frame lines and explained
/// events (TraceFormatter), filtered (TraceFilter), as text (coloured on a terminal) or JSON lines.
/// </summary>
public sealed class ConsoleTrace(TextWriter output, TraceFilter? filter = null, bool json = false, bool colour = false) : ITraceSink
{
    private readonly object gate = new();
    private readonly TraceFormatter formatter = new();
    private readonly TraceFilter filter = filter ?? TraceFilter.All;

    /// <summary>Colour only when standard output is a terminal and NO_COLOR is not set.</summary>
    public static bool ConsoleWantsColour => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;

    public void Write(TraceEvent e)
    {
        lock (gate)
        {
            var record = formatter.Format(e); // frames are formatted even when filtered out: relative sequence numbers need them
            if (!filter.Matches(record)) return;
            output.WriteLine(json ? TraceJson.Line(record) : TraceText.Line(record, colour));
        }
    }
}
