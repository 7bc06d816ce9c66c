using System.CommandLine;
using UserStack.Tools.Diagrams;

namespace UserStack.Tools.Commands;

/// <summary>`ustack graph FILE`: the time-sequence graph or cwnd over time of a TCP conversation, as PNG or SVG (ScottPlot).</summary>
public static class GraphCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "a capture (pcapng from `ustack up --pcap`, or pcap) or a JSON-lines trace (`--trace-format json`)" };
        var output = new Option<string>("--output", "-o") { Description = "the image to write: .png or .svg", DefaultValueFactory = _ => "graph.png" };
        var kind = new Option<string>("--kind") { Description = "sequence (Stevens' time-sequence graph: data, ACK and window lines, retransmissions in red) or cwnd (congestion window; bytes in flight from a capture)", DefaultValueFactory = _ => "sequence" };
        kind.AcceptOnlyFromAmong("sequence", "cwnd");
        var width = new Option<int>("--width") { Description = "image width in pixels", DefaultValueFactory = _ => 1000 };
        var height = new Option<int>("--height") { Description = "image height in pixels", DefaultValueFactory = _ => 600 };
        var port = new Option<ushort?>("--port") { Description = "graph the first TCP conversation with this port (default: the first in the file)" };
        var host = new Option<string?>("--host") { Description = "graph the first TCP conversation with this address" };
        var command = new Command("graph", "Graph a TCP conversation of a capture or a JSON trace: sequence numbers or the congestion window over time") { file, output, kind, width, height, port, host };
        command.SetAction(result =>
        {
            try
            {
                var path = result.GetValue(output)!;
                int w = result.GetValue(width), h = result.GetValue(height);
                if (w < 100 || h < 100) throw new FormatException("--width and --height must be at least 100 pixels");
                var diagram = DiagramCommand.Load(result.GetValue(file)!, new ConversationChoice(result.GetValue(port), result.GetValue(host)));
                var plot = result.GetValue(kind) == "cwnd" ? CongestionGraph.Build(diagram).Plot : TimeSequenceGraph.Build(diagram).Plot;
                Save(plot, path, w, h);
                Console.Error.WriteLine($"wrote {path}");
                return 0;
            }
            catch (Exception e) when (e is IOException or FormatException or InvalidOperationException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"ustack graph: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    public static void Save(ScottPlot.Plot plot, string path, int width, int height)
    {
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".svg": plot.SaveSvg(path, width, height); break;
            case ".png": plot.SavePng(path, width, height); break;
            default: throw new FormatException($"--output {path}: give a .png or .svg file");
        }
    }
}
