using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace UserStack.Diagnostics;

/// <summary>
/// A trace record as one JSON object on one line (`--trace-format json`). Field names are stable:
/// time (seconds), kind, proto, text, and when known dir, reason, rule, src, dst, sport, dport,
/// connection, and the event's numbers (cwnd, ssthresh, sack_blocks, timer, action, duration_ms, backoff, layer).
/// </summary>
public static class TraceJson
{
    public static string Line(TraceRecord r)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("time", Math.Round(r.Time, 6));
            w.WriteString("kind", r.Kind.ToString().ToLowerInvariant());
            w.WriteString("proto", r.Protocol);
            if (r.Direction is { } dir) w.WriteString("dir", dir);
            w.WriteString("text", r.Text);
            if (r.Reason is { } reason) w.WriteString("reason", reason);
            if (r.Rule is { } rule) w.WriteString("rule", rule);
            if (r.Source is { } src) w.WriteString("src", src.ToString());
            if (r.Destination is { } dst) w.WriteString("dst", dst.ToString());
            if (r.SourcePort != 0) w.WriteNumber("sport", r.SourcePort);
            if (r.DestinationPort != 0) w.WriteNumber("dport", r.DestinationPort);
            if (r.Connection is { } c) w.WriteString("connection", c);
            if (r.Fields is { } fields)
                foreach (var (name, value) in fields)
                {
                    if (value is string s) w.WriteString(name, s);
                    else w.WriteNumber(name, Convert.ToInt64(value));
                }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
