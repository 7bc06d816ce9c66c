using System.Net.Sockets;
using System.Text.Json;
using Spectre.Console;
using UserStack.Sockets.Api;
using UserStack.Sockets.Control;
using UserStack.Tests.Support;
using UserStack.Tools.Control;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Control;

/// <summary>What `ustack netstat` and `ustack top` read: the snapshot of a running stack, its JSON, and the two views of it. No root needed.</summary>
public class StackSnapshotTests
{
    private const ushort Port = 8090;

    /// <summary>B listens on 8090 and holds one connection from A with 5 unread bytes, a UDP socket on 5353 and a raw ICMP socket.</summary>
    private static StackSnapshot SnapshotOfBusyStack(HostedPair pair, out ushort clientPort)
    {
        var a = new BsdSockets(pair.A);
        var b = new BsdSockets(pair.B);
        int listener = b.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.That(b.Bind(listener, new Endpoint(Ipv4Address.Any, Port)), Is.Zero);
        Assert.That(b.Listen(listener, 4), Is.Zero);
        b.SetSockOpt(listener, SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout, 5000);
        int client = a.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.That(a.Connect(client, new Endpoint(HostedPair.AddressB, Port)), Is.Zero);
        int server = b.Accept(listener, out var peer);
        Assert.That(server, Is.GreaterThan(0));
        clientPort = peer.Port;
        Assert.That(a.Send(client, "hello"u8), Is.EqualTo(5));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (b[server]!.Available < 5 && DateTime.UtcNow < deadline) Thread.Sleep(5);
        int udp = b.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.That(b.Bind(udp, new Endpoint(Ipv4Address.Any, 5353)), Is.Zero);
        Assert.That(b.Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp), Is.GreaterThan(0));
        return StackSnapshot.Take(pair.B, _ => new DeviceCounters(11, 12, 0));
    }

    [Test]
    public void A_snapshot_lists_the_listener_the_connection_with_its_tcp_info_and_the_udp_and_raw_sockets()
    {
        using var pair = new HostedPair();
        var s = SnapshotOfBusyStack(pair, out var clientPort);

        var listener = s.Sockets.Single(r => r is { Protocol: "tcp", State: "LISTEN" });
        Assert.That((listener.Local, listener.Remote, listener.RecvQ, listener.SendQ), Is.EqualTo(($"0.0.0.0:{Port}", (string?)null, 0, 4)), "ss's listener queues: accept queue and backlog");
        var connection = s.Sockets.Single(r => r is { Protocol: "tcp", State: "ESTABLISHED" });
        Assert.That(connection.Local, Is.EqualTo($"{HostedPair.AddressB}:{Port}"));
        Assert.That(connection.Remote, Is.EqualTo($"{HostedPair.AddressA}:{clientPort}"));
        Assert.That(connection.RecvQ, Is.EqualTo(5), "the bytes A sent and B has not read");
        Assert.That(connection.SendQ, Is.Zero);
        var tcp = connection.Tcp!;
        Assert.That(tcp.Cwnd, Is.GreaterThan(0));
        Assert.That(tcp.Mss, Is.EqualTo(1448), "1460 less the 12 bytes of timestamps in every segment");
        Assert.That(tcp.RtoMs, Is.GreaterThanOrEqualTo(200), "RFC 6298 with Linux's 200 ms floor");
        Assert.That(tcp.Sack && tcp.Timestamps, Is.True, "both stacks offer SACK and timestamps");
        Assert.That(tcp.SendWscale, Is.Not.Null);

        Assert.That(s.Sockets.Single(r => r.Protocol == "udp").Local, Is.EqualTo("0.0.0.0:5353"));
        Assert.That(s.Sockets.Single(r => r.Protocol == "raw").Local, Is.EqualTo("0.0.0.0:1"), "raw: the IP protocol (ICMP) in place of a port");
        Assert.That(s.Interfaces.Single(), Is.EqualTo(s.Interfaces[0] with { Address = $"{HostedPair.AddressB}/24", FramesIn = 11, FramesOut = 12, WriteErrors = 0 }));
        Assert.That(s.Counter("FramesReceived"), Is.GreaterThanOrEqualTo(3), "handshake and data arrived");
        Assert.That(s.ProcessId, Is.EqualTo(Environment.ProcessId));
    }

    [Test]
    public void The_snapshot_is_one_line_of_snake_case_json_that_reads_back_equal()
    {
        using var pair = new HostedPair();
        var s = SnapshotOfBusyStack(pair, out _);
        var json = JsonSerializer.Serialize(s, ControlJson.Default.StackSnapshot);
        Assert.That(json, Does.Not.Contain("\n"));
        Assert.That(json, Does.Contain("\"recv_q\":5").And.Contain("\"srtt_ms\":").And.Contain("\"cwnd\":").And.Contain("\"frames_in\":11"));
        var back = ControlClient.Parse("test", json);
        Assert.That(back.Sockets, Is.EqualTo(s.Sockets).Using<SocketRow>((x, y) => x.ToString() == y.ToString()));
        Assert.That(back.Counters.Select(c => (c.Name, c.Value)), Is.EqualTo(s.Counters.Select(c => (c.Name, c.Value))));
    }

    [Test]
    public void An_error_answer_is_a_control_exception_not_a_snapshot()
    {
        var e = Assert.Throws<ControlException>(() => ControlClient.Parse("/run/ustack/x.sock", "{\"error\":\"unknown request 'x'\"}"));
        Assert.That(e!.Message, Does.Contain("unknown request"));
        Assert.Throws<ControlException>(() => ControlClient.Parse("/run/ustack/x.sock", "not json"));
    }

    [Test]
    public void Netstat_prints_ss_style_rows_with_a_second_line_of_tcp_numbers()
    {
        using var pair = new HostedPair();
        var s = SnapshotOfBusyStack(pair, out var clientPort);
        var lines = SocketTable.Format(s).Split('\n');
        Assert.That(lines[0], Does.Match(@"^Netid +State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port$"));
        int i = Array.FindIndex(lines, l => l.Contains("ESTABLISHED"));
        Assert.That(lines[i], Does.Match($@"^tcp +ESTABLISHED +5 +0 +{HostedPair.AddressB}:{Port} +{HostedPair.AddressA}:{clientPort}$"));
        Assert.That(lines[i + 1], Does.Match(@"^\tcubic wscale:\d+,\d+ rto:\d+(\.\d+)? rtt:[\d.]+/[\d.]+ mss:1448 cwnd:\d+ retrans:0/0 unacked:0 ts sack$"),
            "no ssthresh while it is infinite, as ss");
        Assert.That(lines, Has.Some.Match($@"^tcp +LISTEN +0 +4 +0\.0\.0\.0:{Port} +\*$"));
        Assert.That(lines, Has.Some.Match(@"^udp +UNCONN +0 +0 +0\.0\.0\.0:5353 +\*$"));
        Assert.That(lines, Has.Some.Match(@"^raw +UNCONN +0 +0 +0\.0\.0\.0:1 +\*$"));
    }

    [Test]
    public void The_tcp_line_shows_ssthresh_recovery_and_retransmits_when_there_are_some()
    {
        var row = new TcpRow("newreno", 7300, 5840, 12.5, 3.25, 213, 1, 4, 1460, null, null, false, true, true, 2920, 65535, 65535);
        Assert.That(SocketTable.Details(row), Is.EqualTo("newreno rto:213 rtt:12.5/3.25 mss:1460 cwnd:7300 ssthresh:5840 retrans:1/4 unacked:2920 recovery sack"));
    }

    [Test]
    public void Top_draws_interfaces_counters_and_the_connection_as_plain_text_when_not_on_a_terminal()
    {
        using var pair = new HostedPair();
        var s = SnapshotOfBusyStack(pair, out var clientPort);
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = 200;
        console.Write(TopView.Render(s, s with { UptimeSeconds = s.UptimeSeconds - 1 }, TimeSpan.FromSeconds(1)));
        var output = text.ToString();
        Assert.That(output, Does.Not.Contain("\u001b"), "no escape sequences when piped");
        Assert.That(output, Does.Match($@"tcp +ESTABLISHED +5 +0 +{HostedPair.AddressB}:{Port} → {HostedPair.AddressA}:{clientPort} *\n +cubic .*cwnd:\d+ "));
        Assert.That(output, Does.Match(@"FramesReceived +\d+ +0 "), "per second: 0 against a snapshot with the same counts");
        Assert.That(output, Does.Match($@"{HostedPair.AddressB}/24 +02:00:00:00:07:02 +1500 +11 +12 +0"));
    }
}
