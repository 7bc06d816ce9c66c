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
        var (client, server) = lab.ConnectStep(
            "The handshake of `ustack lab handshake` (RFC 9293 §3.5).");

        Instant arrived = default;
        int mss = client.SendMss;
        lab.Step("A sends one full-sized segment; B has nothing to say", () =>
        {
            client.Send(LabSession.Pattern(mss), s.Now, out _);
            s.RunUntil(() => server.Available == mss, TimeSpan.FromSeconds(1));
            arrived = s.Now;
            s.RunFor(TimeSpan.FromMilliseconds(100));
        },
        "B receives one full-sized segment and arms its delayed-ACK timer instead of answering at once, hoping to send the ACK " +
        "with data or with the ACK of a second segment. Nothing comes, so the timer fires 40 ms later and B sends a pure ACK " +
        "(RFC 1122 §4.2.3.2: an ACK SHOULD NOT be delayed more than 0.5 s).");
        var delayed = s.TraceB.Sent(FrameReason.TcpDelayedAck);

        int acksBefore = s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack).Count;
        lab.Step("A sends two full-sized segments", () =>
        {
            client.Send(LabSession.Pattern(2 * mss), s.Now, out _);
            s.RunUntil(() => server.Available == 3 * mss, TimeSpan.FromSeconds(1));
            s.RunFor(TimeSpan.FromMilliseconds(5));
        },
        "The first arms the timer; the second is acknowledged at once together with it: RFC 5681 §4.2 says an ACK SHOULD be " +
        "generated for at least every second full-sized segment, so a sender is never kept waiting for long.");
        var twoSegmentAcks = s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack).Skip(acksBefore).ToList();

        Instant smallArrived = default;
        int acksBeforeSmall = 0;
        lab.Step("A sends 4 bytes", () =>
        {
            acksBeforeSmall = s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack).Count;
            client.Send("ping"u8, s.Now, out _);
            s.RunUntil(() => server.Available == 3 * mss + 4, TimeSpan.FromSeconds(1));
            smallArrived = s.Now;
            s.RunFor(TimeSpan.FromMilliseconds(100));
        },
        "A segment shorter than the MSS is acknowledged at once: UserStack delays only full-sized segments, since a short one often " +
        "ends a message the sender waits on (Nagle's algorithm, RFC 1122 §4.2.3.4, holds the next small segment until this ACK). " +
        "Delaying is allowed, never required (RFC 1122 §4.2.3.2).");
        var smallAck = s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack).Skip(acksBeforeSmall).FirstOrDefault();

        lab.Check(delayed.Count >= 1 && Math.Abs((delayed[0].Time - arrived).TotalMilliseconds - 40) < 1,
            "B's ACK of a lone full-sized segment was delayed by 40 ms", delayed.Count == 0 ? "no delayed ACK" : $"{(delayed[0].Time - arrived).TotalMilliseconds} ms");
        lab.Check(twoSegmentAcks.Count == 1 && twoSegmentAcks[0].Note.Reason != FrameReason.TcpDelayedAck,
            "two full-sized segments drew one immediate ACK", $"{twoSegmentAcks.Count} ACKs, {string.Join(",", twoSegmentAcks.Select(a => a.Note.Reason))}");
        lab.Check(smallAck is not null && smallAck.Time == smallArrived && smallAck.Note.Reason != FrameReason.TcpDelayedAck,
            "the short segment was acknowledged at once", smallAck is null ? "no ACK" : $"{(smallAck.Time - smallArrived).TotalMilliseconds} ms, {smallAck.Note.Reason}");
    }
}
