using System.Globalization;

namespace UserStack.Tools.Diagrams;

/// <summary>
/// The ladder as Mermaid `sequenceDiagram` source: one message per segment ("0.002 [S] seq 0 win 65535"),
/// dashed arrows (-->>) for retransmissions, the stack's reason and the events as notes beside the host they belong to.
/// Mermaid reads ';' and '#' in a message as syntax, so they are written as ',' and "no.".
/// </summary>
public static class MermaidLadder
{
    public static void Render(LadderDiagram diagram, TextWriter output)
    {
        output.WriteLine("sequenceDiagram");
        output.WriteLine($"    participant L as {Clean(diagram.Left)}");
        output.WriteLine($"    participant R as {Clean(diagram.Right)}");
        foreach (var step in diagram.Steps)
        {
            string time = step.Time.ToString("0.000000", CultureInfo.InvariantCulture);
            switch (step.Arrow)
            {
                case LadderArrow.LeftToRight or LadderArrow.RightToLeft:
                    bool right = step.Arrow == LadderArrow.LeftToRight;
                    string arrow = step.IsRetransmission || step.Segment?.BadChecksum == true ? "-->>" : "->>";
                    output.WriteLine($"    {(right ? "L" : "R")}{arrow}{(right ? "R" : "L")}: {time} {Clean(step.Label)}");
                    // The note is the stack's: a received frame's beside its receiver, a sent frame's beside its sender.
                    if (step.Note is { } note) output.WriteLine($"    Note {(right == note.StartsWith("received:", StringComparison.Ordinal) ? "right of R" : "left of L")}: {Clean(note)}");
                    break;
                case LadderArrow.LeftEvent:
                    output.WriteLine($"    Note left of L: {time} {Clean(step.Label)}");
                    break;
                default:
                    output.WriteLine($"    Note right of R: {time} {Clean(step.Label)}");
                    break;
            }
        }
    }

    private static string Clean(string text) => text.Replace(';', ',').Replace("#", "no.").Replace('\n', ' ');
}
