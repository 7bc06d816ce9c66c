using UserStack.Diagnostics;

using UserStack.Time;

namespace UserStack.Tools.Labs;

/// <summary>Data and delayed ACKs: RFC 1122 §4.2.3.2 and RFC 5681 §4.2.</summary>
public sealed class DelayedAckLab : Lab
{
    public override string Name => "delayed-ack";
    public override string Title => "Data and the delayed ACK";
    public override string Intro =>
        "A receiver need not acknowledge every segment at once: it may wait a little, hoping to send the ACK with data or " +
        "to acknowledge two segments with one ACK. UserStack waits at most 40 ms (Linux's minimum) and always acknowledges " +
        "every second full-sized segment at once.";

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        Tcp.TcpConnection client = null!, server = null!;
        lab.Step("A connects to B", () => { var (c, sv) = s.Connect(); (client, server) = (c, sv!); },
            "The handshake of `ustack lab handshake` (RFC 9293 §3.5).");

        Instant arrived = default;
        lab.Step("A sends 100 bytes; B has nothing to say", () =>
        {
            client.Send(LabSession.Pattern(100), s.Now, out _);
            s.RunUntil(() => server.Available == 100, TimeSpan.FromSeconds(1));
            arrived = s.Now;
            s.RunFor(TimeSpan.FromMilliseconds(100));
        },
        "B receives one small segment and arms its delayed-ACK timer instead of answering at once. Nothing else comes, so the " +
        "timer fires 40 ms later and B sends a pure ACK (RFC 1122 §4.2.3.2: an ACK SHOULD NOT be delayed more than 0.5 s).");
        var delayed = s.TraceB.Sent(FrameReason.TcpDelayedAck);

        int acksBefore = s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack).Count;
        int mss = client.SendMss;
        lab.Step("A sends two full-sized segments", () =>
        {
            client.Send(LabSession.Pattern(2 * mss), s.Now, out _);
            s.RunUntil(() => server.Available == 100 + 2 * mss, TimeSpan.FromSeconds(1));
            s.RunFor(TimeSpan.FromMilliseconds(5));
        },
        "The second full-sized segment is acknowledged at once, with no timer: RFC 5681 §4.2 says an ACK SHOULD be generated for " +
        "at least every second full-sized segment, so a sender is never kept waiting for long.");
        var twoSegmentAcks = s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack).Skip(acksBefore).ToList();

        lab.Step("A asks, B answers at once", () =>
        {
            var buffer = new byte[65536];
            server.Receive(buffer, false, s.Now, out _);
            client.Send("ping"u8, s.Now, out _);
            s.RunUntil(() => server.Available == 4, TimeSpan.FromSeconds(1));
            server.Receive(buffer, false, s.Now, out _);
            server.Send("pong"u8, s.Now, out _);
            s.RunUntil(() => client.Available == 4, TimeSpan.FromSeconds(1));
            s.RunFor(TimeSpan.FromMilliseconds(100));
        },
        "B replies before its delayed-ACK timer fires, so the ACK of \"ping\" rides on the \"pong\" segment (piggybacking, RFC 9293 " +
        "§3.10.7.4): the delay saved a segment. A then delays its own ACK of \"pong\".");

        lab.Check(delayed.Count >= 1 && Math.Abs((delayed[0].Time - arrived).TotalMilliseconds - 40) < 1,
            "B's ACK of a lone segment was delayed by 40 ms", delayed.Count == 0 ? "no delayed ACK" : $"{(delayed[0].Time - arrived).TotalMilliseconds} ms");
        lab.Check(twoSegmentAcks.Count == 1 && twoSegmentAcks[0].Note.Reason != FrameReason.TcpDelayedAck,
            "two full-sized segments drew one immediate ACK", $"{twoSegmentAcks.Count} ACKs, {string.Join(",", twoSegmentAcks.Select(a => a.Note.Reason))}");
        lab.Check(s.TraceB.Sent(FrameReason.TcpDelayedAck).Count == 1, "B's answer carried the ACK of \"ping\" (no second delayed ACK from B)",
            $"{s.TraceB.Sent(FrameReason.TcpDelayedAck).Count} delayed ACKs");
    }
}
