using UserStack.Diagnostics;

namespace UserStack.Tools;

/// <summary>Prints every trace event, one line each, for learners watching the stack work.</summary>
public sealed class ConsoleTrace(TextWriter output) : ITraceSink
{
    private readonly object gate = new();
    public void Write(TraceEvent e)
    {
        lock (gate) output.WriteLine($"trace {e}");
    }
}
