using System.Runtime.CompilerServices;
using System.Xml.Linq;
using UserStack.Tools.Commands;
using UserStack.Tools.Diagrams;

namespace UserStack.Tests.Diagrams;

/// <summary>
/// `ustack diagram`: the scripted conversation (DiagramFiles) drawn from its JSON trace and from its
/// capture, as terminal text and Mermaid compared with golden files (UPDATE_GOLDEN=1 rewrites them after
/// a deliberate change), and as SVG parsed back with one arrow per segment on the wire.
/// </summary>
public class LadderDiagramTests
{
    private DiagramFiles files = null!;

    [OneTimeSetUp] public void Write() => files = new DiagramFiles();
    [OneTimeTearDown] public void Remove() => files.Dispose();

    private static string GoldenPath(string name, [CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "Golden", name);

    private static void AssertGolden(string name, string actual)
    {
        var path = GoldenPath(name);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1" || !File.Exists(path))
        {
            File.WriteAllText(path, actual);
            if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") != "1") Assert.Fail($"golden file {path} was missing and has been written: check it and run again");
        }
        Assert.That(actual, Is.EqualTo(File.ReadAllText(path)), $"diagram differs from {path} (UPDATE_GOLDEN=1 rewrites it after a deliberate change)");
    }

    private static string Terminal(LadderDiagram d, bool colour = false)
    {
        var w = new StringWriter { NewLine = "\n" };
        Ladder.Render(d, w, colour);
        return w.ToString();
    }

    private LadderDiagram FromTrace() => DiagramCommand.Load(files.Trace, ConversationChoice.First);
    private LadderDiagram FromCapture() => DiagramCommand.Load(files.Capture, ConversationChoice.First);

    [Test]
    public void Terminal_ladder_of_the_json_trace_matches_the_golden_file() => AssertGolden("ladder-trace.txt", Terminal(FromTrace()));

    [Test]
    public void Terminal_ladder_of_the_pcapng_capture_with_its_frame_comments_matches_the_golden_file() => AssertGolden("ladder-capture.txt", Terminal(FromCapture()));

    [Test]
    public void Mermaid_source_of_the_json_trace_matches_the_golden_file()
    {
        var w = new StringWriter { NewLine = "\n" };
        MermaidLadder.Render(FromTrace(), w);
        AssertGolden("ladder-trace.mmd", w.ToString());
    }

    [Test]
    public void Mermaid_source_of_the_capture_puts_each_frame_comment_beside_the_stack_that_wrote_it()
    {
        var w = new StringWriter { NewLine = "\n" };
        MermaidLadder.Render(FromCapture(), w);
        var text = w.ToString();
        AssertGolden("ladder-capture.mmd", text);
        Assert.That(text, Does.Contain("R->>L: 0.004000 [S.] seq 0 ack 1 win 65535\n    Note left of L: received: delivered to TCP 10.9.0.1:"));
        Assert.That(text, Does.Contain("L-->>R: 0.207000 [P.] seq 6:11 ack 6 len 5 win 32768 (retransmission)\n    Note left of L: sent: retransmission 1 (RTO"));
    }

    [Test]
    public void Both_sources_agree_on_the_hosts_and_the_segments_and_the_client_is_on_the_left()
    {
        var (trace, capture) = (FromTrace(), FromCapture());
        Assert.That(trace.Left, Does.StartWith("10.9.0.1:"));
        Assert.That(trace.Right, Is.EqualTo("10.9.0.2:7"));
        Assert.That((capture.Left, capture.Right), Is.EqualTo((trace.Left, trace.Right)));
        var labels = (LadderDiagram d) => d.Steps.Where(s => s.IsArrow).Select(s => (s.Arrow, s.Label)).ToList();
        Assert.That(labels(capture), Is.EqualTo(labels(trace)));
        Assert.That(labels(trace)[0], Is.EqualTo((LadderArrow.LeftToRight, "[S] seq 0 win 65535")));
        Assert.That(labels(trace)[1].Label, Does.StartWith("[S.] seq 0 ack 1 win 65535"));
    }

    [Test]
    public void The_segment_resent_by_rto_is_the_one_retransmission_and_carries_the_stacks_reason()
    {
        foreach (var d in new[] { FromTrace(), FromCapture() })
        {
            var resent = d.Steps.Where(s => s.IsRetransmission).ToList();
            Assert.That(resent, Has.Count.EqualTo(1));
            Assert.That(resent[0].Label, Is.EqualTo("[P.] seq 6:11 ack 6 len 5 win 32768 (retransmission)"));
            Assert.That(resent[0].Note, Does.Contain("retransmission 1 (RTO"));
        }
    }

    [Test]
    public void State_changes_and_timers_of_the_trace_stand_in_the_margin_beside_the_client()
    {
        var events = FromTrace().Steps.Where(s => !s.IsArrow).ToList();
        Assert.That(events.All(e => e.Arrow == LadderArrow.LeftEvent), "the trace is the client's");
        Assert.That(events.Select(e => e.Label), Has.Some.EqualTo("SYN-SENT → ESTABLISHED: our SYN acknowledged by a SYN-ACK, RFC 9293 §3.10.7.3"));
        Assert.That(events.Select(e => e.Label), Has.Some.StartsWith("TIME-WAIT → CLOSED"));
        Assert.That(events.Select(e => e.Label), Has.Some.StartsWith("retransmission (RTO) timer fired"));
    }

    [Test]
    public void Colour_only_when_asked_retransmission_in_red()
    {
        var d = FromTrace();
        Assert.That(Terminal(d), Does.Not.Contain("\e["));
        var coloured = Terminal(d, colour: true).Split('\n');
        Assert.That(coloured.Single(l => l.Contains("(retransmission)")), Does.Contain("\e[31m"));
        Assert.That(coloured.First(l => l.Contains("[S] seq 0")), Does.Contain("\e[36m"));
    }

    [Test]
    public void The_public_render_of_steps_draws_what_a_lab_hands_it()
    {
        var w = new StringWriter { NewLine = "\n" };
        Ladder.Render([LadderStep.Frame(0, true, new LadderSegment("S", 0, null, 0, 65535)), LadderStep.Event(0.001, false, "LISTEN → SYN-RECEIVED")], w, colour: false);
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0].Trim(), Does.StartWith("A").And.EndWith("B"));
        Assert.That(lines[1], Does.Match(@"^ +0\.000000 \|-+ \[S\] seq 0 win 65535 -+>\|$"));
        Assert.That(lines[2], Does.Match(@"^ +0\.001000 \| +\|  B: LISTEN → SYN-RECEIVED$"));
    }

    [Test]
    public void Svg_parses_back_as_xml_with_one_arrow_per_tcp_segment_on_the_wire()
    {
        var w = new StringWriter();
        SvgLadder.Render(FromCapture(), w, width: 1500);
        var svg = XDocument.Parse(w.ToString());
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.That(svg.Root!.Name, Is.EqualTo(ns + "svg"));
        Assert.That((string?)svg.Root.Attribute("width"), Is.EqualTo("1500"));
        Assert.That(svg.Descendants(ns + "line").Select(l => double.Parse((string)l.Attribute("x2")!, System.Globalization.CultureInfo.InvariantCulture)).Max(), Is.LessThanOrEqualTo(1500));
        var arrows = svg.Descendants(ns + "line").Where(l => ((string?)l.Attribute("class"))?.Split(' ').Contains("arrow") == true).ToList();
        // Counted independently: PacketDotNet's decoding of every frame in the capture.
        int tcp = CaptureFile.Read(files.Capture).Count(f => PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, f.Bytes).Extract<PacketDotNet.TcpPacket>() is not null);
        Assert.That(arrows, Has.Count.EqualTo(tcp));
        Assert.That(arrows.Count(a => ((string)a.Attribute("class")!).Contains("retransmission")), Is.EqualTo(1));
        Assert.That(svg.Descendants(ns + "text").Select(t => t.Value), Has.Some.Contains("retransmission 1 (RTO").And.Some.EqualTo("10.9.0.2:7"));
    }

    [Test]
    public void A_classic_pcap_file_reads_too_without_comments()
    {
        var frames = CaptureFile.Read(files.Capture);
        var path = Path.Combine(Path.GetTempPath(), $"ustack-classic-{Guid.NewGuid():N}.pcap");
        try
        {
            using (var f = new BinaryWriter(File.Create(path)))
            {
                f.Write(0xA1B2C3D4u); f.Write((ushort)2); f.Write((ushort)4); f.Write(0); f.Write(0u); f.Write(65535u); f.Write(1u);
                foreach (var fr in frames) { f.Write((uint)(fr.Microseconds / 1_000_000)); f.Write((uint)(fr.Microseconds % 1_000_000)); f.Write(fr.Bytes.Length); f.Write(fr.Bytes.Length); f.Write(fr.Bytes); }
            }
            var d = DiagramCommand.Load(path, ConversationChoice.First);
            var arrows = d.Steps.Where(s => s.IsArrow).ToList();
            Assert.That(arrows.Select(s => s.Label), Is.EqualTo(FromCapture().Steps.Where(s => s.IsArrow).Select(s => s.Label)));
            Assert.That(arrows.All(s => s.Note is null));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void A_trace_redirected_from_ustack_up_keeps_its_ready_and_counters_lines_and_still_reads()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ustack-up-out-{Guid.NewGuid():N}.jsonl");
        try
        {
            File.WriteAllLines(path, ["ready ip=10.9.0.1/24 mac=02:00:00:00:09:01 tap=tap0 mtu=1500", .. File.ReadAllLines(files.Trace), "stopped; counters: TcpSegmentsSent=12"]);
            Assert.That(Terminal(DiagramCommand.Load(path, ConversationChoice.First)), Is.EqualTo(Terminal(FromTrace())));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void A_file_that_is_no_capture_and_a_conversation_that_is_not_there_are_clear_errors()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ustack-not-{Guid.NewGuid():N}.bin");
        try
        {
            File.WriteAllBytes(path, new byte[64]);
            Assert.That(() => DiagramCommand.Load(path, ConversationChoice.First), Throws.TypeOf<FormatException>().With.Message.Contains("neither pcapng nor pcap"));
            File.WriteAllText(path, "{\"time\": 1}\n");
            Assert.That(() => DiagramCommand.Load(path, ConversationChoice.First), Throws.TypeOf<FormatException>().With.Message.Contains("line 1"));
        }
        finally { File.Delete(path); }
        Assert.That(() => DiagramCommand.Load(files.Capture, new ConversationChoice(Port: 9)), Throws.InvalidOperationException.With.Message.Contains("on port 9"));
        Assert.That(DiagramCommand.Load(files.Capture, new ConversationChoice(Port: 7, Host: "10.9.0.1")).Right, Is.EqualTo("10.9.0.2:7"));
    }
}
