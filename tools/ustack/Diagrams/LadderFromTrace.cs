using System.Text.Json;

namespace UserStack.Tools.Diagrams;

/// <summary>
/// A JSON-lines trace (`ustack up --trace-format json`, Stack/Diagnostics/TraceJson) as observations:
/// frame lines with their reason and rule as the note; state, timer, congestion and TCP drop events as
/// events of their connection. Lines that do not start with '{' are skipped; a record that is not JSON is a
/// <see cref="FormatException"/> naming its line.
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
            if (!line.TrimStart().StartsWith('{')) continue; // not a record: the ready or counters line of `ustack up`
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

    /// <summary>
    /// A trace has a line that starts with '{' in its first 64 KiB (`ustack up ... > file` also keeps the
    /// stack's ready and counters lines, which <see cref="Read"/> skips); anything else is taken for a capture.
    /// </summary>
    public static bool LooksLikeTrace(string path)
    {
        using var f = File.OpenRead(path);
        var head = new byte[Math.Min(f.Length, 1 << 16)];
        f.ReadExactly(head);
        if (head.Length >= 4 && BitConverter.ToUInt32(head) is 0x0A0D0D0A or 0xA1B2C3D4 or 0xA1B23C4D or 0xD4C3B2A1 or 0x4D3CB2A1) return false;
        for (int i = 0; i < head.Length; i++)
            if (head[i] == '{' && (i == 0 || head[i - 1] == '\n')) return true;
        return false;
    }
}
