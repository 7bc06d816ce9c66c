using System.CommandLine;
using UserStack.Tools.Diagrams;

namespace UserStack.Tools.Commands;

/// <summary>`ustack diagram FILE`: a capture or a JSON trace as a ladder diagram (terminal text, Mermaid, SVG).</summary>
public static class DiagramCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "a capture (pcapng from `ustack up --pcap`, or pcap) or a JSON-lines trace (`--trace-format json`)" };
        var format = new Option<string>("--format") { Description = "terminal (colour on a terminal, plain when piped), mermaid (sequenceDiagram source) or svg", DefaultValueFactory = _ => "terminal" };
        format.AcceptOnlyFromAmong("terminal", "mermaid", "svg");
        var output = new Option<string?>("--output", "-o") { Description = "write to this file instead of standard output" };
        var width = new Option<int?>("--width") { Description = $"terminal: characters between the two lifelines (default {Ladder.DefaultWidth}); svg: the image width in pixels (default {SvgLadder.DefaultWidth})" };
        var port = new Option<ushort?>("--port") { Description = "draw the first TCP conversation with this port (default: the first in the file)" };
        var host = new Option<string?>("--host") { Description = "draw the first TCP conversation with this address" };
        var command = new Command("diagram", "Draw a TCP conversation of a capture or a JSON trace as a ladder (sequence) diagram") { file, format, output, width, port, host };
        command.SetAction(result =>
        {
            try
            {
                var diagram = Load(result.GetValue(file)!, new ConversationChoice(result.GetValue(port), result.GetValue(host)));
                var path = result.GetValue(output);
                using var writer = path is null ? null : new StreamWriter(path);
                var to = writer ?? Console.Out;
                switch (result.GetValue(format))
                {
                    case "mermaid": MermaidLadder.Render(diagram, to); break;
                    case "svg": SvgLadder.Render(diagram, to, result.GetValue(width) ?? SvgLadder.DefaultWidth); to.WriteLine(); break;
                    default: Ladder.Render(diagram, to, writer is null && ConsoleTrace.ConsoleWantsColour, result.GetValue(width) ?? Ladder.DefaultWidth); break;
                }
                if (path is not null) Console.Error.WriteLine($"wrote {path}");
                return 0;
            }
            catch (Exception e) when (e is IOException or FormatException or InvalidOperationException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"ustack diagram: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>A JSON trace when the file starts with '{', else a capture.</summary>
    public static LadderDiagram Load(string path, ConversationChoice choice) =>
        LadderFromTrace.LooksLikeTrace(path) ? LadderFromTrace.Build(path, choice) : LadderFromCapture.Build(path, choice);
}
