using UserStack.Diagnostics;
using UserStack.Drivers.Capture;
using UserStack.Tests.Tracing;
using UserStack.Wire;

namespace UserStack.Tests.Diagrams;

/// <summary>
/// The scripted conversation of <see cref="TraceScenario"/> (handshake, an echo, a segment lost once and
/// resent by RTO, close through TIME-WAIT) written as the client A would write it: a JSON-lines trace
/// (TraceFormatter + TraceJson, as `--trace-format json`) and a pcapng capture with the stack's reason as
/// each frame's comment (PcapCapture, as `--pcap`). Deterministic, so diagrams of it are golden files.
/// </summary>
public sealed class DiagramFiles : IDisposable
{
    public string Trace { get; } = Path.Combine(Path.GetTempPath(), $"ustack-diagram-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
    public string Capture { get; } = Path.Combine(Path.GetTempPath(), $"ustack-diagram-{Environment.ProcessId}-{Guid.NewGuid():N}.pcapng");

    public DiagramFiles()
    {
        var events = TraceScenario.Run().A.Events;
        var formatter = new TraceFormatter();
        File.WriteAllLines(Trace, events.Select(e => TraceJson.Line(formatter.Format(e))));
        // Virtual time counts from the Unix epoch in the capture, as PcapCapture.Write(Instant) says.
        using var capture = new PcapCapture(Capture);
        foreach (var e in events)
        {
            if (e is FrameSent s) capture.Write(s.Frame, s.Time, FrameNotes.Sent(s.Note, s.Frame), outbound: true);
            else if (e is FrameReceived r) capture.Write(r.Frame, r.Time, FrameNotes.Received(DropReason.None, r.Frame), outbound: false);
        }
    }

    public void Dispose()
    {
        File.Delete(Trace);
        File.Delete(Capture);
    }
}
