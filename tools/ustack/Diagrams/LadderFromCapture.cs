using UserStack.Diagnostics;

namespace UserStack.Tools.Diagrams;

/// <summary>
/// A capture (pcapng from `ustack up --pcap`, or classic pcap) as observations: each frame decoded by
/// the stack's own TcpdumpLine (relative sequence numbers, as tcpdump shows them), its packet comment
/// (the stack's reason for it) as the note, time counted from the first frame.
/// </summary>
public static class LadderFromCapture
{
    public static List<Observation> Read(string path)
    {
        var frames = CaptureFile.Read(path);
        var lines = new TcpdumpLine();
        long origin = frames.Count > 0 ? frames[0].Microseconds : 0;
        return frames.Select(f => new Observation((f.Microseconds - origin) / 1e6, lines.Describe(f.Bytes).Text, f.Comment)).ToList();
    }

    public static LadderDiagram Build(string path, ConversationChoice choice) => LadderBuilder.Build(Read(path), choice) with { FromCapture = true };
}
