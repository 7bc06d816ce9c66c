using UserStack.Diagnostics;
using UserStack.Tcp;

namespace UserStack.Tools.Labs;

/// <summary>The retransmission timer and its exponential back-off: RFC 6298 §5.</summary>
public sealed class RtoBackoffLab : Lab
{
    public override string Name => "rto-backoff";
    public override string Title => "Retransmission timeout and back-off";
    public override string Intro =>
        "A sends 100 bytes and the wire loses them, and every retransmission, four times. With no ACKs coming back, only the " +
        "retransmission timer (RTO) can repair the loss, and each time it expires it doubles, so a dead path is probed less and less often.";

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var (client, server) = lab.ConnectStep("The handshake measured one round trip of 2 ms, but the RTO never goes below 200 ms (Linux's minimum; RFC 6298 §2.4 says 1 s).");

        var rto = client.Rto;
        int first = s.TraceA.Events.Count;
        s.DropFromA = LabFrames.DropDataSegments(1, 2, 3, 4, 5);
        lab.Step("A sends 100 bytes; the data is lost five times", () =>
        {
            client.Send(LabSession.Pattern(100), s.Now, out _);
            s.RunUntil(() => server.Available == 100, TimeSpan.FromSeconds(30));
        },
        "Each time the timer expires A resends the oldest unacknowledged segment and doubles the RTO (\"back off the timer\", " +
        "RFC 6298 §5.5), up to 60 s (§2.5). The sixth copy gets through; its ACK stops the timer.");

        var armed = s.TraceA.Events.Skip(first).OfType<TcpTimerChanged>()
            .Where(t => t.Timer == TcpTimer.Retransmission && t.Action == TimerAction.Armed && t.BackOff > 0).Select(t => t.Duration).ToList();
        var resent = s.TraceA.Sent(FrameReason.TcpRetransmission);
        lab.Check(resent.Count == 5, "A retransmitted five times", $"{resent.Count}");
        lab.Check(armed.Count == 5 && armed[0] == rto * 2, $"the first timeout re-armed the timer at twice the connection's RTO ({rto.TotalMilliseconds} ms)",
            armed.Count == 0 ? "no timer" : $"{armed[0].TotalMilliseconds} ms");
        lab.Check(armed.Count == 5 && Enumerable.Range(1, 4).All(i => armed[i] == armed[i - 1] * 2), "the RTO doubled at each timeout (back-off 1 to 5)",
            string.Join(", ", armed.Select(a => $"{a.TotalMilliseconds} ms")));
        var sends = s.TraceA.SentData().Select(f => f.Time).ToList();
        var gaps = sends.Zip(sends.Skip(1), (x, y) => y - x).ToList();
        lab.Check(gaps.Count == 5 && Enumerable.Range(1, gaps.Count - 1).All(i => gaps[i] == gaps[i - 1] * 2), "the gaps between the six copies doubled",
            string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds} ms")));
        lab.Check(server.Available == 100, "B finally received the 100 bytes", $"{server.Available}");
    }
}
