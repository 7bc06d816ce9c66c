using System.Text;

namespace UserStack.Tools.Diagrams;

/// <summary>
/// The ladder as terminal text: the time, the left host's lifeline, an arrow labelled with the segment
/// (flags, relative seq, ack, len, win), the right host's lifeline, and the note (the stack's reason) in
/// the margin; events go in the margin too, after the name of the host they happened on. ANSI colour only when
/// asked (a terminal): data one way cyan, the other yellow, retransmissions red, events dim, state changes green.
/// </summary>
public static class Ladder
{
    public const int DefaultWidth = 56;
    private const string Reset = "\e[0m", Cyan = "\e[36m", Yellow = "\e[33m", Red = "\e[31m", Dim = "\e[2m", Green = "\e[32m";

    /// <summary>Renders steps between hosts "A" and "B" (what a guided lab passes: its own frames and events).</summary>
    public static void Render(IEnumerable<LadderStep> steps, TextWriter output, bool colour) => Render(new LadderDiagram("A", "B", steps.ToList()), output, colour);

    /// <param name="width">characters between the two lifelines (at least the longest label plus 6)</param>
    public static void Render(LadderDiagram diagram, TextWriter output, bool colour, int width = DefaultWidth)
    {
        int span = Math.Max(width, diagram.Steps.Where(s => s.IsArrow).Select(s => s.Label.Length + 6).DefaultIfEmpty(0).Max());
        span = Math.Max(span, diagram.Left.Length / 2 + diagram.Right.Length / 2 + 2);
        const int timeWidth = 11;
        // Heads: each host's name centred on its lifeline.
        int leftAt = timeWidth, rightAt = timeWidth + span + 1;
        var heads = new char[rightAt + diagram.Right.Length + 2];
        Array.Fill(heads, ' ');
        Place(heads, Math.Max(0, leftAt - diagram.Left.Length / 2), diagram.Left);
        Place(heads, Math.Max(leftAt + diagram.Left.Length - diagram.Left.Length / 2 + 1, rightAt - diagram.Right.Length / 2), diagram.Right);
        output.WriteLine(new string(heads).TrimEnd());

        foreach (var step in diagram.Steps)
        {
            var line = new StringBuilder();
            line.Append(step.Time.ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture).PadLeft(timeWidth - 1)).Append(' ');
            if (step.IsArrow)
            {
                line.Append('|');
                var body = Arrow(step.Label, span, step.Arrow == LadderArrow.LeftToRight);
                string tint = step.IsRetransmission || step.Segment?.BadChecksum == true ? Red : step.Arrow == LadderArrow.LeftToRight ? Cyan : Yellow;
                line.Append(colour ? tint + body + Reset : body).Append('|');
                if (step.Note is { } note) line.Append("  ").Append(colour ? Dim + note + Reset : note);
            }
            else
            {
                bool state = step.Label.Contains('→');
                string text = (step.Arrow == LadderArrow.LeftEvent ? diagram.Left : diagram.Right) + ": " + step.Label;
                line.Append('|').Append(' ', span).Append("|  ").Append(colour ? (state ? Green : Dim) + text + Reset : text);
            }
            output.WriteLine(line.ToString().TrimEnd());
        }
    }

    /// <summary>"----- label ---->" or "<---- label -----", <paramref name="span"/> characters.</summary>
    private static string Arrow(string label, int span, bool rightwards)
    {
        int dashes = span - label.Length - 2;
        int before = dashes / 2, after = dashes - before;
        var s = new string('-', before) + ' ' + label + ' ' + new string('-', after);
        return rightwards ? s[..^1] + '>' : '<' + s[1..];
    }

    private static void Place(char[] into, int at, string text)
    {
        for (int i = 0; i < text.Length && at + i < into.Length; i++) into[at + i] = text[i];
    }
}
