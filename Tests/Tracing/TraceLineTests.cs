using System.Runtime.CompilerServices;
using System.Text.Json;
using UserStack.Diagnostics;

namespace UserStack.Tests.Tracing;

/// <summary>
/// The trace of a scripted conversation (TraceScenario) as a learner reads it: tcpdump-style frame
/// lines with relative sequence numbers and the reason of every segment sent, state changes with
/// their cause and RFC section, timers, drops. Compared with a golden file; set UPDATE_GOLDEN=1 to rewrite it.
/// </summary>
public class TraceLineTests
{
    private static string Render(IEnumerable<TraceEvent> events, TraceFilter? filter = null, bool json = false)
    {
        var formatter = new TraceFormatter();
        filter ??= TraceFilter.All;
        var lines = events.Select(formatter.Format).Where(filter.Matches).Select(r => json ? TraceJson.Line(r) : TraceText.Line(r));
        return string.Join('\n', lines) + '\n';
    }

    private static string GoldenPath(string name, [CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "Golden", name);

    private static void AssertGolden(string name, string actual)
    {
        var path = GoldenPath(name);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1" || !File.Exists(path))
        {
            File.WriteAllText(path, actual);
            if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") != "1") Assert.Fail($"golden file {path} was missing and has been written: check it and run again");
        }
        Assert.That(actual, Is.EqualTo(File.ReadAllText(path)), $"trace differs from {path} (UPDATE_GOLDEN=1 rewrites it after a deliberate change)");
    }

    [Test]
    public void Server_trace_of_handshake_echo_retransmission_drop_and_close_matches_the_golden_file() =>
        AssertGolden("server-echo.txt", Render(TraceScenario.Run().B.Events));

    [Test]
    public void Client_trace_of_the_same_conversation_matches_the_golden_file() =>
        AssertGolden("client-echo.txt", Render(TraceScenario.Run().A.Events));

    [Test]
    public void Frame_lines_follow_tcpdump_with_relative_sequence_numbers_from_each_directions_isn()
    {
        var text = Render(TraceScenario.Run().B.Events);
        Assert.That(text, Does.Match(@"in  IP 10\.9\.0\.1\.\d+ > 10\.9\.0\.2\.7: Flags \[S\], seq 0, win \d+, options \[mss 1460,sackOK,TS val \d+ ecr 0,nop,wscale \d+\], length 0"));
        Assert.That(text, Does.Match(@"out IP 10\.9\.0\.2\.7 > 10\.9\.0\.1\.\d+: Flags \[S\.\], seq 0, ack 1, win \d+, options \[.*\], length 0  # SYN-ACK: answering a SYN, RFC 9293 §3\.10\.7\.2"));
        Assert.That(text, Does.Match(@"in  IP 10\.9\.0\.1\.\d+ > 10\.9\.0\.2\.7: Flags \[P\.\], seq 1:6, ack 1, win \d+, options \[nop,nop,TS val \d+ ecr \d+\], length 5"));
        Assert.That(text, Does.Contain("ARP, Request who-has 10.9.0.2 tell 10.9.0.1"));
        Assert.That(text, Does.Contain("ARP, Reply 10.9.0.2 is-at 02:00:00:00:09:02"));
    }

    [Test]
    public void State_changes_name_their_cause_and_rfc_section()
    {
        var text = Render(TraceScenario.Run().B.Events);
        Assert.That(text, Does.Contain("SYN-RECEIVED → ESTABLISHED: our SYN acknowledged, RFC 9293 §3.10.7.4"));
        Assert.That(text, Does.Contain("ESTABLISHED → CLOSE-WAIT: the peer's FIN arrived"));
        Assert.That(text, Does.Contain("LAST-ACK → CLOSED: our FIN acknowledged"));
    }

    [Test]
    public void A_segment_resent_by_the_retransmission_timer_says_so_with_its_rto()
    {
        var text = Render(TraceScenario.Run().A.Events);
        Assert.That(text, Does.Contain("retransmission (RTO) timer fired, RFC 6298 §5"));
        Assert.That(text, Does.Match(@"out IP .*length 5  # retransmission 1 \(RTO \d+ ms\), RFC 6298 §5\.4"));
        Assert.That(text, Does.Contain("TIME-WAIT (2 MSL) timer fired"));
    }

    [Test]
    public void A_corrupted_segment_is_shown_with_its_drop_reason_and_layer()
    {
        var text = Render(TraceScenario.Run().B.Events);
        Assert.That(text, Does.Match(@"in  IP 10\.9\.0\.1\.\d+ > 10\.9\.0\.2\.7: tcp, bad cksum \(TcpBadChecksum\)"));
        Assert.That(text, Does.Contain("dropped by Tcp: TcpBadChecksum"));
    }

    [Test]
    public void Json_lines_parse_back_with_stable_field_names()
    {
        var events = TraceScenario.Run().B.Events;
        var lines = Render(events, json: true).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(events.Count));
        var docs = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(docs.All(d => d.TryGetProperty("time", out _) && d.TryGetProperty("kind", out _) && d.TryGetProperty("text", out _)));
        var synAck = docs.First(d => d.GetProperty("kind").GetString() == "frame" && d.GetProperty("text").GetString()!.Contains("Flags [S.]"));
        Assert.That(synAck.GetProperty("dir").GetString(), Is.EqualTo("out"));
        Assert.That(synAck.GetProperty("proto").GetString(), Is.EqualTo("tcp"));
        Assert.That(synAck.GetProperty("sport").GetInt32(), Is.EqualTo(7));
        Assert.That(synAck.GetProperty("src").GetString(), Is.EqualTo("10.9.0.2"));
        Assert.That(synAck.GetProperty("reason").GetString(), Is.EqualTo("SYN-ACK: answering a SYN"));
        Assert.That(synAck.GetProperty("rule").GetString(), Is.EqualTo("RFC 9293 §3.10.7.2"));
        var established = docs.First(d => d.GetProperty("kind").GetString() == "state" && d.GetProperty("text").GetString()!.Contains("→ ESTABLISHED"));
        Assert.That(established.GetProperty("connection").GetString(), Does.StartWith("10.9.0.2:7-10.9.0.1:"));
        Assert.That(docs.Any(d => d.GetProperty("kind").GetString() == "drop" && d.GetProperty("layer").GetString() == "Tcp"));
    }

    [Test]
    public void Filter_tcp_keeps_only_tcp_lines_and_arp_only_arp()
    {
        var events = TraceScenario.Run().B.Events;
        var formatter = new TraceFormatter();
        var records = events.Select(formatter.Format).ToList();
        var tcp = TraceFilter.Parse("tcp");
        Assert.That(records.Where(tcp.Matches).Select(r => r.Protocol).Distinct(), Is.EqualTo(new[] { "tcp" }));
        Assert.That(Render(events, TraceFilter.Parse("arp")), Does.Contain("who-has").And.Not.Contain("Flags"));
    }

    [Test]
    public void Filter_events_drops_the_frame_lines_and_keeps_the_explanations()
    {
        var text = Render(TraceScenario.Run().B.Events, TraceFilter.Parse("events"));
        Assert.That(text, Does.Not.Contain(" in  ").And.Not.Contain(" out "));
        Assert.That(text, Does.Contain("→ ESTABLISHED"));
    }

    [Test]
    public void Filters_of_different_kinds_combine_port_and_host_narrow_the_choice()
    {
        var events = TraceScenario.Run().B.Events;
        Assert.That(Render(events, TraceFilter.Parse("port=7")), Does.Contain("Flags [S.]").And.Not.Contain("ARP,"));
        Assert.That(Render(events, TraceFilter.Parse("port=8")), Does.Not.Contain("Flags"));
        Assert.That(Render(events, TraceFilter.Parse("host=10.9.0.1,tcp")), Does.Contain("Flags [S.]").And.Not.Contain("ARP"));
        Assert.That(Render(events, TraceFilter.Parse("host=10.9.9.9")), Is.EqualTo("\n"));
    }

    [Test]
    public void An_unknown_filter_term_is_a_clear_error() =>
        Assert.That(() => TraceFilter.Parse("tcp,prot=7"), Throws.TypeOf<FormatException>().With.Message.Contains("'prot=7'"));

    [Test]
    public void Every_tcp_frame_line_agrees_with_packetdotnets_decoding_of_the_same_bytes()
    {
        var scenario = TraceScenario.Run(traced: false);
        var lines = new TcpdumpLine();
        int checkedFrames = 0;
        foreach (var (frame, _) in scenario.Wire)
        {
            var line = lines.Describe(frame).Text;
            if (PacketDotNet.Packet.ParsePacket(PacketDotNet.LinkLayers.Ethernet, frame).Extract<PacketDotNet.TcpPacket>() is not { } tcp) continue;
            var ip = (PacketDotNet.IPv4Packet)tcp.ParentPacket;
            var flags = (tcp.Finished ? "F" : "") + (tcp.Synchronize ? "S" : "") + (tcp.Reset ? "R" : "") + (tcp.Push ? "P" : "") + (tcp.Acknowledgment ? "." : "");
            Assert.That(line, Does.StartWith($"IP {ip.SourceAddress}.{tcp.SourcePort} > {ip.DestinationAddress}.{tcp.DestinationPort}: Flags [{flags}]"));
            Assert.That(line, Does.Contain($", win {tcp.WindowSize}").And.EndWith($", length {tcp.PayloadData?.Length ?? 0}"));
            checkedFrames++;
        }
        Assert.That(checkedFrames, Is.GreaterThan(15));
    }

    [Test]
    public void Tracing_changes_nothing_on_the_wire_the_same_frames_go_with_and_without_a_sink()
    {
        var traced = TraceScenario.Run(traced: true).Wire;
        var quiet = TraceScenario.Run(traced: false).Wire;
        Assert.That(quiet.Select(f => Convert.ToHexString(f.Frame)), Is.EqualTo(traced.Select(f => Convert.ToHexString(f.Frame))));
        Assert.That(quiet.Select(f => f.At), Is.EqualTo(traced.Select(f => f.At)));
    }
}
