using System.Globalization;
using System.Text;
using System.Xml;

namespace UserStack.Tools.Diagrams;

/// <summary>
/// The ladder as a self-contained SVG: two lifelines with the hosts' names, one arrow (a line with an
/// arrowhead marker, class "arrow") per segment with its label above it and its time at the left, the
/// stack's reason and the events as text in the right margin. Retransmissions and bad checksums in red.
/// Written with XmlWriter, so every label is escaped.
/// </summary>
public static class SvgLadder
{
    public const int DefaultWidth = 1200;
    private const int Row = 22, Top = 50, TimeColumn = 80;

    public static void Render(LadderDiagram diagram, TextWriter output, int width = DefaultWidth)
    {
        int ladder = Math.Clamp(width / 2, 300, Math.Max(300, width - TimeColumn - 40));
        double x1 = TimeColumn + 20, x2 = x1 + ladder, margin = x2 + 12;
        int height = Top + (diagram.Steps.Count + 1) * Row;
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

        using var w = XmlWriter.Create(output, new XmlWriterSettings { Indent = true, OmitXmlDeclaration = false, Encoding = Encoding.UTF8 });
        const string ns = "http://www.w3.org/2000/svg";
        w.WriteStartElement("svg", ns);
        w.WriteAttributeString("width", width.ToString(CultureInfo.InvariantCulture));
        w.WriteAttributeString("height", height.ToString(CultureInfo.InvariantCulture));
        w.WriteAttributeString("viewBox", $"0 0 {width} {height}");
        w.WriteAttributeString("font-family", "monospace");
        w.WriteAttributeString("font-size", "12");

        w.WriteStartElement("defs", ns);
        foreach (var (id, colour) in new[] { ("head", "#1f4e9c"), ("head-back", "#9c5a1f"), ("head-retx", "#c0392b") })
        {
            w.WriteStartElement("marker", ns);
            w.WriteAttributeString("id", id);
            w.WriteAttributeString("markerWidth", "10"); w.WriteAttributeString("markerHeight", "8");
            w.WriteAttributeString("refX", "9"); w.WriteAttributeString("refY", "4"); w.WriteAttributeString("orient", "auto");
            Element(w, "path", ("d", "M0,0 L10,4 L0,8 z"), ("fill", colour));
            w.WriteEndElement();
        }
        w.WriteEndElement();
        Element(w, "rect", ("width", "100%"), ("height", "100%"), ("fill", "white"));

        Text(w, x1, 20, diagram.Left, "middle", "bold");
        Text(w, x2, 20, diagram.Right, "middle", "bold");
        Element(w, "line", ("class", "lifeline"), ("x1", F(x1)), ("y1", "30"), ("x2", F(x1)), ("y2", F(height - 5)), ("stroke", "#444"));
        Element(w, "line", ("class", "lifeline"), ("x1", F(x2)), ("y1", "30"), ("x2", F(x2)), ("y2", F(height - 5)), ("stroke", "#444"));

        double y = Top;
        foreach (var step in diagram.Steps)
        {
            Text(w, TimeColumn, y + 4, step.Time.ToString("0.000000", CultureInfo.InvariantCulture), "end", null, "#666");
            if (step.IsArrow)
            {
                bool right = step.Arrow == LadderArrow.LeftToRight, red = step.IsRetransmission || step.Segment?.BadChecksum == true;
                string colour = red ? "#c0392b" : right ? "#1f4e9c" : "#9c5a1f";
                string marker = red ? "head-retx" : right ? "head" : "head-back";
                var (from, to) = right ? (x1, x2) : (x2, x1);
                Element(w, "line", ("class", red ? "arrow retransmission" : "arrow"), ("x1", F(from)), ("y1", F(y)), ("x2", F(to)), ("y2", F(y + Row * 0.6)),
                    ("stroke", colour), ("stroke-width", "1.5"), ("marker-end", $"url(#{marker})"));
                Text(w, (x1 + x2) / 2, y - 2, step.Label, "middle", null, colour);
                if (step.Note is { } note) Text(w, margin, y + 4, note, "start", null, "#555");
            }
            else
            {
                string host = step.Arrow == LadderArrow.LeftEvent ? diagram.Left : diagram.Right;
                Text(w, margin, y + 4, $"{host}: {step.Label}", "start", null, step.Label.Contains('→') ? "#1e7b34" : "#777", "event");
            }
            y += Row;
        }
        w.WriteEndElement();
    }

    private static void Text(XmlWriter w, double x, double y, string text, string anchor, string? weight = null, string fill = "#000", string? cls = null)
    {
        w.WriteStartElement("text", "http://www.w3.org/2000/svg");
        if (cls is not null) w.WriteAttributeString("class", cls);
        w.WriteAttributeString("x", x.ToString("0.#", CultureInfo.InvariantCulture));
        w.WriteAttributeString("y", y.ToString("0.#", CultureInfo.InvariantCulture));
        w.WriteAttributeString("text-anchor", anchor);
        w.WriteAttributeString("fill", fill);
        if (weight is not null) w.WriteAttributeString("font-weight", weight);
        w.WriteString(text);
        w.WriteEndElement();
    }

    private static void Element(XmlWriter w, string name, params (string Name, string Value)[] attributes)
    {
        w.WriteStartElement(name, "http://www.w3.org/2000/svg");
        foreach (var (n, v) in attributes) w.WriteAttributeString(n, v);
        w.WriteEndElement();
    }
}
