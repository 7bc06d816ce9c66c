using UserStack.Diagnostics;
using UserStack.Tcp;

namespace UserStack.Tools.Labs;

/// <summary>TIME-WAIT: the active closer waits 2 MSL, and re-acknowledges a retransmitted FIN (RFC 9293 §3.6, §3.10.7.4).</summary>
public sealed class TimeWaitLab : Lab
{
    public override string Name => "time-wait";
    public override string Title => "TIME-WAIT";
    public override string Intro =>
        "A closes first, then B. A, the side that closed first, keeps the connection in TIME-WAIT for twice the maximum segment " +
        "lifetime (2 MSL; 60 s here, on the virtual clock) so that its last ACK can be repeated if lost and old duplicates die out.";

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var (client, server) = lab.ConnectStep("A normal handshake.");

        lab.Step("A closes", () =>
        {
            s.A.Tcp.Close(client, s.Now);
            s.RunUntil(() => server.State == TcpState.CloseWait && client.State == TcpState.FinWait2, TimeSpan.FromSeconds(1));
        },
        "A's FIN: A enters FIN-WAIT-1, then FIN-WAIT-2 when B acknowledges it; B enters CLOSE-WAIT (RFC 9293 §3.10.4, §3.10.7.4).");

        bool dropped = false;
        s.DropFromA = f => !dropped && LabFrames.TryTcp(f.Span, out var flags, out _) && flags == Wire.TcpFlags.Ack && (dropped = true);
        lab.Step("B closes; A's last ACK is lost", () =>
        {
            s.B.Tcp.Close(server, s.Now);
            s.RunUntil(() => server.State == TcpState.Closed, TimeSpan.FromSeconds(10));
        },
        "B's FIN puts A in TIME-WAIT; A's ACK of it is lost, so B, in LAST-ACK, resends its FIN when its RTO expires. A is still in " +
        "TIME-WAIT, so it can acknowledge the FIN again and restart the 2 MSL timer (RFC 9293 §3.10.7.4, TIME-WAIT).");

        lab.Step("A waits 2 MSL", () => s.RunUntil(() => client.State == TcpState.Closed, TimeSpan.FromMinutes(3)),
            "When the TIME-WAIT timer fires, A deletes the connection (RFC 9293 §3.10.8): the same four-tuple may now be used again.");

        var states = s.TraceA.Events.OfType<TcpStateChanged>().ToList();
        var entered = states.FirstOrDefault(c => c.To == "TimeWait");
        var left = states.FirstOrDefault(c => c.From == "TimeWait");
        var lastAck = s.TraceA.SentTcp(f => f == Wire.TcpFlags.Ack).LastOrDefault();
        var twoMsl = 2 * new TcpOptions().MaximumSegmentLifetime;
        lab.Check(entered is not null, "A entered TIME-WAIT");
        lab.Check(s.TraceB.Sent(FrameReason.TcpRetransmission).Count >= 1 && s.TraceA.SentTcp(f => f == Wire.TcpFlags.Ack).Count(a => entered is not null && a.Time >= entered.Time) >= 2,
            "A, in TIME-WAIT, acknowledged B's retransmitted FIN again");
        lab.Check(left is not null && lastAck is not null && left.To == "Closed" && left.Time - lastAck.Time == twoMsl,
            $"A left TIME-WAIT for CLOSED 2 MSL ({twoMsl.TotalSeconds} s) after its last ACK",
            left is null || lastAck is null ? "never left" : $"{(left.Time - lastAck.Time).TotalSeconds} s");
        lab.CheckState(server, TcpState.Closed, "B");
    }
}
