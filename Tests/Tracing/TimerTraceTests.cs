using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Tools.Labs;
using UserStack.Drivers.Virtual;

namespace UserStack.Tests.Tracing;

/// <summary>
/// The timer lines and frame reasons a learner relies on: every timer is shown armed (with its
/// duration) before it is shown restarted, fired or stopped (RFC 6298 §5 for the RTO); a restart of
/// the RTO on each ACK is shown only when the RTO changed; a frame held for ARP keeps its reason;
/// persist probes are numbered with their back-off (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17); a
/// simultaneous open's SYN-ACK cites RFC 9293 §3.10.7.3.
/// </summary>
public class TimerTraceTests
{
    /// <summary>
    /// Replays one stack's trace, tracking which timers run per connection: a timer fires, restarts
    /// or stops only while it runs, and no ACK leaves while a delayed ACK is shown pending.
    /// </summary>
    private static void AssertTimersConsistent(IEnumerable<TraceEvent> events, string who)
    {
        var running = new HashSet<(string, TcpTimer)>();
        var describe = new TcpdumpLine();
        int index = 0;
        foreach (var e in events)
        {
            index++;
            switch (e)
            {
                case TcpTimerChanged t:
                {
                    var key = (t.Connection, t.Timer);
                    string where = $"{who} event {index}: {t}";
                    switch (t.Action)
                    {
                        case TimerAction.Armed:
                            // A keepalive re-check may be due at once; every other timer runs for a while.
                            Assert.That(t.Duration, t.Timer == TcpTimer.KeepAlive ? Is.GreaterThanOrEqualTo(TimeSpan.Zero) : Is.GreaterThan(TimeSpan.Zero), where);
                            running.Add(key);
                            break;
                        case TimerAction.Restarted:
                            Assert.That(running, Does.Contain(key), "restarted but never shown armed: " + where);
                            break;
                        default:
                            Assert.That(running.Remove(key), Is.True, $"{t.Action} but never shown armed: " + where);
                            break;
                    }
                    break;
                }
                case TcpStateChanged { To: "Closed" } c:
                    running.RemoveWhere(k => k.Item1 == c.Connection); // the timers die with the connection
                    break;
                case FrameSent f:
                {
                    var s = describe.Describe(f.Frame);
                    if (s.Protocol != "tcp" || !s.Text.Contains("Flags [") || s.Text.Contains("Flags [R")) break;
                    var name = $"{s.Source}:{s.SourcePort}-{s.Destination}:{s.DestinationPort}";
                    if (s.Text.Contains(".],") || s.Text.Contains(".], "))
                        Assert.That(running, Does.Not.Contain((name, TcpTimer.DelayedAck)), $"{who} event {index}: an ACK left while the delayed ACK timer is shown pending: {s.Text}");
                    break;
                }
            }
        }
    }

    private static List<TcpTimerChanged> Timers(IEnumerable<TraceEvent> events, TcpTimer timer) =>
        events.OfType<TcpTimerChanged>().Where(t => t.Timer == timer).ToList();

    [Test]
    public void Every_timer_is_shown_armed_before_it_fires_restarts_or_stops_rfc6298_5()
    {
        var s = TraceScenario.Run();
        AssertTimersConsistent(s.A.Events, "A");
        AssertTimersConsistent(s.B.Events, "B");
    }

    [Test]
    public void The_first_arming_of_the_retransmission_timer_is_traced_with_its_rto_rfc6298_5_1()
    {
        var events = TraceScenario.Run().A.Events;
        var formatter = new TraceFormatter();
        var lines = events.Select(formatter.Format).Select(r => TraceText.Line(r)).ToList();
        int data = lines.FindIndex(l => l.Contains("length 5  # data"));
        Assert.That(data, Is.GreaterThan(0));
        Assert.That(lines[data + 1], Does.Match(@"retransmission \(RTO\) timer armed, \d+ ms, RFC 6298 §5$"), "the first data segment starts the timer (RFC 6298 5.1)");
        var syn = Timers(events, TcpTimer.Retransmission).First();
        Assert.That(syn.Action, Is.EqualTo(TimerAction.Armed), "the SYN's timer is the first timer line");
        Assert.That(syn.Duration, Is.EqualTo(TimeSpan.FromSeconds(1)), "RFC 6298 2.1: the initial RTO is one second");
    }

    [Test]
    public void A_bulk_transfer_shows_the_rto_restarted_only_when_its_value_changes_not_on_every_ack()
    {
        var pair = new WiredPair(3, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var trace = new TraceRecorder();
        pair.A.Trace = trace;
        var (client, server) = pair.Connect(7);
        var data = new byte[200_000];
        int sent = 0, received = 0;
        var buffer = new byte[65536];
        var wire = pair.Wire;
        for (int round = 0; round < 10_000 && received < data.Length; round++)
        {
            if (sent < data.Length) sent += Math.Max(0, client.Send(data.AsSpan(sent), wire.Now, out _));
            wire.RunFor(TimeSpan.FromMilliseconds(1));
            int n = server!.Receive(buffer, false, wire.Now, out _);
            if (n > 0) received += n;
        }
        Assert.That(received, Is.EqualTo(data.Length));
        AssertTimersConsistent(trace.Events, "A");
        var acks = trace.Events.OfType<FrameReceived>().Count();
        var rto = Timers(trace.Events, TcpTimer.Retransmission);
        var restarts = rto.Where(t => t.Action == TimerAction.Restarted).ToList();
        Assert.That(acks, Is.GreaterThan(50), "many ACKs came back");
        Assert.That(rto.Count, Is.LessThan(acks / 2), "not a timer line per ACK");
        // Each restart line shows a duration different from the line before it for this timer.
        for (int i = 1; i < rto.Count; i++)
            if (rto[i].Action == TimerAction.Restarted && rto[i - 1].Action is TimerAction.Armed or TimerAction.Restarted)
                Assert.That(rto[i].Duration, Is.Not.EqualTo(rto[i - 1].Duration), $"restart {i} repeats the RTO already shown");
        Assert.That(rto.Last().Action, Is.EqualTo(TimerAction.Cancelled), "all acknowledged: the timer is shown stopped");
    }

    [Test]
    public void A_frame_held_for_arp_resolution_keeps_its_reason_when_it_finally_leaves()
    {
        var events = TraceScenario.Run().A.Events;
        var sent = events.OfType<FrameSent>().ToList();
        Assert.That(sent[0].Frame[12..14], Is.EqualTo(new byte[] { 0x08, 0x06 }), "ARP goes first: the SYN waited for it");
        var syn = sent.First(f => new TcpdumpLine().Describe(f.Frame).Text.Contains("Flags [S]"));
        Assert.That(syn.Note, Is.EqualTo(new FrameNote(FrameReason.TcpSyn)), "the SYN says why it was sent: active open (RFC 9293 3.10.1)");
        Assert.That(sent[0].Note.IsSet, Is.False, "the ARP request takes no segment's note");
    }

    [Test]
    public void An_annotated_capture_comments_the_syn_that_waited_for_arp()
    {
        var pair = new WiredPair(1, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var comments = new List<string>();
        var stack = pair.A;
        pair.Wire.Capture = (frame, _) =>
        {
            // Capture comments read TransmitNote while the frame is handed to the sink.
            if (frame.Length > 13 && frame[12] == 0x08 && frame[13] == 0x00 && stack.TransmitNote.IsSet)
                comments.Add(FrameNotes.Sent(stack.TransmitNote, frame));
        };
        pair.Connect(7);
        Assert.That(comments, Has.Some.StartWith("sent: SYN: active open, RFC 9293 §3.10.1"));
    }

    [Test]
    public void Persist_probes_are_numbered_since_the_window_closed_and_their_interval_doubles_rfc1122_4_2_2_17()
    {
        var pair = new WiredPair(1, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) }, tcpB: new TcpOptions { ReceiveBufferSize = 4096 });
        var trace = new TraceRecorder();
        pair.A.Trace = trace;
        var (client, server) = pair.Connect(7);
        client.Send(new byte[16384], pair.Wire.Now, out _);
        pair.Wire.RunFor(TimeSpan.FromSeconds(7)); // B reads nothing: probes at about 0.2, 0.6, 1.4, 3.0 and 6.2 s
        var probes = trace.Events.OfType<FrameSent>().Where(f => f.Note.Reason == FrameReason.TcpPersistProbe).Select(f => f.Note).ToList();
        Assert.That(probes, Has.Count.GreaterThanOrEqualTo(4));
        Assert.That(probes.Select(p => p.Count), Is.EqualTo(Enumerable.Range(1, probes.Count)), "each answered probe still counts: probe 1, 2, 3, ...");
        for (int i = 1; i < probes.Count; i++)
            Assert.That(probes[i].Milliseconds, Is.EqualTo(probes[i - 1].Milliseconds * 2), "each probe waited twice as long (back-off)");
        var armed = Timers(trace.Events, TcpTimer.Persist).Where(t => t.Action == TimerAction.Armed).ToList();
        Assert.That(armed.Select(t => t.BackOff), Is.EqualTo(Enumerable.Range(0, armed.Count)), "back-off 0, 1, 2, ... while the window stays zero");
        Assert.That(FrameReasons.Text(probes[2]), Is.EqualTo($"zero-window probe 3 (persist timer, waited {probes[2].Milliseconds} ms), RFC 9293 §3.8.6.1"));

        // The window opens: the timer is shown stopped, and a later zero window starts again from probe 1.
        var buffer = new byte[65536];
        int before = trace.Events.Count;
        server!.Receive(buffer, false, pair.Wire.Now, out _);
        pair.Wire.RunFor(TimeSpan.FromSeconds(1));
        var persist = Timers(trace.Events.Skip(before), TcpTimer.Persist);
        Assert.That(persist.First().Action, Is.EqualTo(TimerAction.Cancelled), "the window update stops the persist timer");
        var again = trace.Events.Skip(before).OfType<FrameSent>().Where(f => f.Note.Reason == FrameReason.TcpPersistProbe).ToList();
        Assert.That(again, Is.Not.Empty, "the window closed again");
        Assert.That(again[0].Note.Count, Is.EqualTo(1), "a new zero-window period numbers its probes from 1");
        AssertTimersConsistent(trace.Events, "A");
    }

    [Test]
    public void A_delayed_ack_paid_by_a_data_segment_is_shown_stopped_rfc1122_4_2_3_2()
    {
        var pair = new WiredPair(1, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var trace = new TraceRecorder();
        pair.B.Trace = trace;
        var (client, server) = pair.Connect(7);
        client.Send(new byte[client.SendMss], pair.Wire.Now, out _); // one full-sized segment: B delays its ACK
        pair.Wire.RunUntil(() => server!.Available > 0, TimeSpan.FromSeconds(1));
        server!.Send("pong"u8, pair.Wire.Now, out _); // the reply carries the ACK before the 40 ms are up
        pair.Wire.RunFor(TimeSpan.FromMilliseconds(100));
        var delayed = Timers(trace.Events, TcpTimer.DelayedAck).Select(t => t.Action).ToList();
        Assert.That(delayed, Is.EqualTo(new[] { TimerAction.Armed, TimerAction.Cancelled }));
        Assert.That(new TraceFormatter().Format(Timers(trace.Events, TcpTimer.DelayedAck)[1]).Text,
            Is.EqualTo("delayed ACK timer stopped: the ACK went out before it fired (with data, or at a second segment), RFC 1122 §4.2.3.2"));
        AssertTimersConsistent(trace.Events, "B");
    }

    [Test]
    public void Keepalive_is_shown_armed_for_the_idle_time_fired_and_armed_again_for_the_interval_rfc1122_4_2_3_6()
    {
        var pair = new WiredPair(1, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
        var trace = new TraceRecorder();
        pair.A.Trace = trace;
        var (client, _) = pair.Connect(7);
        client.KeepAliveIdle = TimeSpan.FromSeconds(10);
        client.KeepAliveInterval = TimeSpan.FromSeconds(2);
        client.SetKeepAlive(true, pair.Wire.Now);
        pair.Wire.RunFor(TimeSpan.FromSeconds(11));
        client.SetKeepAlive(false, pair.Wire.Now);
        var keepalive = Timers(trace.Events, TcpTimer.KeepAlive);
        Assert.That(keepalive.Select(t => t.Action), Is.EqualTo(new[] { TimerAction.Armed, TimerAction.Fired, TimerAction.Armed, TimerAction.Cancelled }));
        Assert.That(keepalive[0].Duration, Is.EqualTo(TimeSpan.FromSeconds(10)), "the idle time");
        Assert.That(keepalive[2].Duration, Is.EqualTo(TimeSpan.FromSeconds(2)), "after a probe: the interval");
        Assert.That(trace.Events.OfType<FrameSent>().Count(f => f.Note.Reason == FrameReason.TcpKeepAlive), Is.EqualTo(1));
        AssertTimersConsistent(trace.Events, "A");
    }

    [Test]
    public void A_simultaneous_open_syn_ack_cites_rfc9293_3_10_7_3_not_the_listen_case()
    {
        var output = new StringWriter { NewLine = "\n" };
        Assert.That(LabRunner.Run(LabRunner.Find("simultaneous-open")!, output, new LabRunOptions()), Is.Zero, output.ToString());
        var synAcks = output.ToString().Split('\n').Where(l => l.Contains(" S. seq")).ToList();
        Assert.That(synAcks, Has.Count.GreaterThanOrEqualTo(2), "both sides sent a SYN-ACK");
        Assert.That(synAcks, Has.All.Contain("SYN-ACK: a SYN crossed ours (simultaneous open), RFC 9293 §3.10.7.3"));
        Assert.That(synAcks, Has.None.Contain("§3.10.7.2"));
    }
}
