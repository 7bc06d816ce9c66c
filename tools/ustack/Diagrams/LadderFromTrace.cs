using System.Text.Json;

namespace UserStack.Tools.Diagrams;

/// <summary>
/// A JSON-lines trace (`ustack up --trace-format json`, Stack/Diagnostics/TraceJson) as observations:
/// frame lines with their reason and rule as the note; state, timer, congestion and TCP drop events as
/// events of their connection. A line that is not a JSON object is a <see cref="FormatException"/> naming it.
/// </summary>
public static class LadderFromTrace
{
    public static List<Observation> Read(IEnumerable<string> lines)
    {
        var result = new List<Observation>();
        int number = 0;
        foreach (var line in lines)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement o;
            try { o = JsonDocument.Parse(line).RootElement; }
            catch (JsonException e) { throw new FormatException($"line {number} is not JSON: {e.Message}"); }
            if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("time", out var time) || !o.TryGetProperty("kind", out var kind) || !o.TryGetProperty("text", out var text))
                throw new FormatException($"line {number} is not a trace record (time, kind and text are missing)");
            string? S(string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            double t = time.GetDouble();
            switch (kind.GetString())
            {
                case "frame":
                    var reason = S("reason");
                    var note = reason is null ? null : S("rule") is { } rule ? $"{reason}, {rule}" : reason;
                    result.Add(new Observation(t, text.GetString(), note));
                    break;
                case "state" or "timer" or "congestion":
                    int? cwnd = o.TryGetProperty("cwnd", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : null;
                    result.Add(new Observation(t, null, Connection: S("connection"), Event: text.GetString(), Cwnd: cwnd));
                    break;
                case "drop" when S("proto") == "tcp":
                    result.Add(new Observation(t, null, Event: text.GetString()));
                    break;
            }
        }
        return result;
    }

    public static LadderDiagram Build(string path, ConversationChoice choice) => LadderBuilder.Build(Read(File.ReadLines(path)), choice);

    /// <summary>A trace file starts with '{'; anything else is taken for a capture.</summary>
    public static bool LooksLikeTrace(string path)
    {
        using var f = File.OpenRead(path);
        int b;
        while ((b = f.ReadByte()) is ' ' or '\n' or '\r' or '\t') { }
        return b == '{';
    }
}
