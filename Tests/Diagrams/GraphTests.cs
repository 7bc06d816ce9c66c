using SkiaSharp;
using UserStack.Tools.Commands;
using UserStack.Tools.Diagrams;

namespace UserStack.Tests.Diagrams;

/// <summary>
/// `ustack graph`: the time-sequence graph and the cwnd graph of the scripted conversation, saved as PNG
/// and read back with SkiaSharp: the requested size, and the data colour on every data bar where the
/// plot's own axes put it (retransmission red), not just a file that exists.
/// </summary>
public class GraphTests
{
    private DiagramFiles files = null!;
    private string png = "";

    [OneTimeSetUp] public void Write() => files = new DiagramFiles();
    [OneTimeTearDown] public void Remove() => files.Dispose();
    [SetUp] public void Name() => png = Path.Combine(Path.GetTempPath(), $"ustack-graph-{Guid.NewGuid():N}.png");
    [TearDown] public void Delete() => File.Delete(png);

    private static bool Near(SKColor pixel, ScottPlot.Color want) =>
        Math.Abs(pixel.Red - want.R) + Math.Abs(pixel.Green - want.G) + Math.Abs(pixel.Blue - want.B) < 60;

    /// <summary>Whether a pixel of the colour lies within 2 pixels of (x, y).</summary>
    private static bool ColourAround(SKBitmap image, float x, float y, ScottPlot.Color want)
    {
        for (int dx = -2; dx <= 2; dx++)
            for (int dy = -2; dy <= 2; dy++)
            {
                int px = (int)Math.Round(x) + dx, py = (int)Math.Round(y) + dy;
                if (px >= 0 && py >= 0 && px < image.Width && py < image.Height && Near(image.GetPixel(px, py), want)) return true;
            }
        return false;
    }

    private static SKBitmap Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        return SKBitmap.Decode(bytes) ?? throw new AssertionException("SkiaSharp could not decode the PNG");
    }

    [Test]
    public void Time_sequence_png_has_the_requested_size_and_every_data_bar_drawn_where_the_axes_put_it()
    {
        var graph = TimeSequenceGraph.Build(DiagramCommand.Load(files.Capture, ConversationChoice.First));
        GraphCommand.Save(graph.Plot, png, 800, 500);
        using var image = Load(png);
        Assert.That((image.Width, image.Height), Is.EqualTo((800, 500)));
        Assert.That(graph.Sender, Does.StartWith("10.9.0.1:"), "the client sent more data (its echo plus the resent segment)");
        Assert.That(graph.Bars.Count(b => b.Retransmission), Is.EqualTo(1));
        Assert.That(graph.Bars, Has.Count.EqualTo(5), "SYN, two data segments, one resent, FIN");
        foreach (var (time, from, to, resent) in graph.Bars)
        {
            var at = graph.Plot.GetPixel(new ScottPlot.Coordinates(time, (from + to) / 2));
            Assert.That(ColourAround(image, at.X, at.Y, resent ? TimeSequenceGraph.Retransmitted : TimeSequenceGraph.Data), Is.True,
                $"the bar at {time} s ({from}-{to}) is drawn at pixel {at.X:0},{at.Y:0}");
        }
        // And the data colour is not everywhere: the top left of the data area stays background.
        var empty = graph.Plot.GetPixel(new ScottPlot.Coordinates(graph.Bars[0].Time, graph.Bars.Max(b => b.To)));
        Assert.That(Near(image.GetPixel((int)empty.X, (int)empty.Y), TimeSequenceGraph.Data), Is.False);
    }

    [Test]
    public void Cwnd_graph_of_the_trace_shows_the_rto_collapse_to_one_segment_and_of_the_capture_an_estimate()
    {
        var fromTrace = CongestionGraph.Build(DiagramCommand.Load(files.Trace, ConversationChoice.First));
        Assert.That(fromTrace.Estimated, Is.False);
        Assert.That(fromTrace.Points, Has.Some.EqualTo((0.207, 1448.0)), "RFC 5681 §3.1: cwnd to one segment (1448 bytes with timestamps) after the RTO");
        var fromCapture = CongestionGraph.Build(DiagramCommand.Load(files.Capture, ConversationChoice.First));
        Assert.That(fromCapture.Estimated, Is.True);
        Assert.That(fromCapture.Points.Max(p => p.Bytes), Is.EqualTo(5), "at most one 5-byte segment was in flight");
        GraphCommand.Save(fromCapture.Plot, png, 640, 480);
        using var image = Load(png);
        Assert.That((image.Width, image.Height), Is.EqualTo((640, 480)));
        var peak = fromCapture.Points.First(p => p.Bytes == 5);
        var at = fromCapture.Plot.GetPixel(new ScottPlot.Coordinates(peak.Time, peak.Bytes));
        Assert.That(ColourAround(image, at.X, at.Y, CongestionGraph.Line), Is.True);
    }

    [Test]
    public void Svg_output_is_svg_and_other_extensions_are_refused()
    {
        var graph = TimeSequenceGraph.Build(DiagramCommand.Load(files.Trace, ConversationChoice.First));
        var svg = Path.ChangeExtension(png, ".svg");
        try
        {
            GraphCommand.Save(graph.Plot, svg, 600, 400);
            var doc = System.Xml.Linq.XDocument.Load(svg);
            Assert.That(doc.Root!.Name.LocalName, Is.EqualTo("svg"));
        }
        finally { File.Delete(svg); }
        Assert.That(() => GraphCommand.Save(graph.Plot, Path.ChangeExtension(png, ".gif"), 600, 400), Throws.TypeOf<FormatException>().With.Message.Contains(".png or .svg"));
    }
}
