using System.Text;
using UserStack.Tcp;

namespace UserStack.Tools.Labs;

/// <summary>What a lab plays with: the session, and the printer of its steps and checks.</summary>
public sealed class LabContext
{
    private readonly TextWriter output;
    private readonly bool colour;
    private readonly Action pause;
    private int printed, steps;

    public LabContext(LabSession session, TextWriter output, bool colour, Action pause)
    {
        (Session, this.output, this.colour, this.pause) = (session, output, colour, pause);
    }

    public LabSession Session { get; }
    public List<string> Failures { get; } = new();
    public int Checks { get; private set; }

    /// <summary>Plays <paramref name="act"/>, prints the ladder of what it caused and the explanation, then waits for Enter if asked to.</summary>
    /// <summary>With <paramref name="show"/>, only the ladder lines it keeps (a bulk transfer shows its congestion events, not 500 frames).</summary>
    public void Step(string title, Action act, string explanation, Func<LadderItem, bool>? show = null)
    {
        output.WriteLine();
        output.WriteLine(Bold($"Step {++steps}: {title}"));
        act();
        Flush(show);
        foreach (var line in Wrap(explanation, 96)) output.WriteLine("  " + line);
        pause();
    }

    /// <summary>
    /// The step most labs begin with: B listens on port 7 and A connects. Stops the lab with a clear
    /// reason (<see cref="LabStoppedException"/>) when the handshake does not complete.
    /// </summary>
    public (TcpConnection Client, TcpConnection Server) ConnectStep(string explanation)
    {
        TcpConnection? client = null, server = null;
        Step("A connects to B", () => (client, server) = Session.Connect(), explanation);
        if (server is null || client!.State != TcpState.Established)
            throw new LabStoppedException($"A could not connect to B: A is {Diagnostics.TraceFormatter.RfcName(client!.State.ToString())}, B accepted {(server is null ? "nothing" : "a connection")}");
        return (client, server);
    }

    /// <summary>Prints the ladder lines not printed yet.</summary>
    public void Flush(Func<LadderItem, bool>? show = null)
    {
        var items = Session.Items;
        int hidden = show is null ? 0 : items.Skip(printed).Count(i => !show(i));
        foreach (var line in LabLadder.Render(items.Skip(printed).Where(show ?? (_ => true)), colour)) output.WriteLine(line);
        if (hidden > 0) output.WriteLine($"{"",10} ({hidden} more frames and events not shown)");
        printed = items.Count;
    }

    /// <summary>Free text under a step (a chart, a table).</summary>
    public void Say(string text) => output.WriteLine(text);

    /// <summary>One of the lab's closing checks: printed as ✓ or ✗; a ✗ makes the lab fail.</summary>
    public bool Check(bool holds, string what, string? got = null)
    {
        Checks++;
        if (Checks == 1) { output.WriteLine(); output.WriteLine(Bold("Checks:")); }
        string mark = holds ? (colour ? "\u001b[32m✓\u001b[0m" : "✓") : (colour ? "\u001b[1;31m✗\u001b[0m" : "✗");
        output.WriteLine($"  {mark} {what}{(holds || got is null ? "" : $" (got {got})")}");
        if (!holds) Failures.Add(what + (got is null ? "" : $" (got {got})"));
        return holds;
    }

    public bool CheckState(TcpConnection? c, TcpState state, string who) =>
        Check(c?.State == state, $"{who} is {Diagnostics.TraceFormatter.RfcName(state.ToString())}", c is null ? "no connection" : Diagnostics.TraceFormatter.RfcName(c.State.ToString()));

    private string Bold(string s) => colour ? $"\u001b[1m{s}\u001b[0m" : s;

    public static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width) { yield return line.ToString(); line.Clear(); }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }
}

/// <summary>A lab could not go on (its set-up failed): the runner reports the message as the lab's failure.</summary>
public sealed class LabStoppedException(string message) : Exception(message);
