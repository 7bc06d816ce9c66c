using UserStack.Diagnostics;
using UserStack.Tcp;

namespace UserStack.Tools.Labs;

/// <summary>Two losses in one window repaired in one recovery by SACK: RFC 2018, RFC 6675.</summary>
public sealed class SackRecoveryLab : Lab
{
    public override string Name => "sack-recovery";
    public override string Title => "SACK recovery";
    public override string Intro =>
        "A sends twelve segments and the wire loses the third and the sixth. With selective acknowledgments B tells A exactly " +
        "which blocks it holds beyond the hole, so A can resend both missing segments in one recovery, without a timeout.";

    public override LabSetup Setup => new() { TcpA = new TcpOptions { CongestionControl = "newreno" } };

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var (client, server) = lab.ConnectStep("Both SYNs carry sackOK: SACK is permitted on this connection (RFC 2018 §2).");

        var data = LabSession.Pattern(12 * client.SendMss);
        List<byte> received = null!;
        s.DropFromA = LabFrames.DropDataSegments(3, 6);
        lab.Step("A sends 12 segments; the 3rd and the 6th are lost", () =>
        {
            received = s.Transfer(client, server, data, TimeSpan.FromSeconds(5));
            s.RunUntil(() => client.SendUnacknowledged == client.SendNext, TimeSpan.FromSeconds(1));
            client.Send(LabSession.Pattern(100), s.Now, out _); // one more segment: its ACK passes the recovery point
            s.RunFor(TimeSpan.FromMilliseconds(50));
        },
            "B's duplicate ACKs carry SACK blocks naming the data it holds above each hole (RFC 2018 §4). A's scoreboard marks the holes " +
            "lost once three segments above them are SACKed (RFC 6675 §4), and resends them in recovery as cwnd allows (RFC 6675 §5); " +
            "the cumulative ACK then jumps over everything.");

        var sackAcks = s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack).Count(f => f.Frame.Length > 0 && HasSack(f.Frame));
        var resent = s.TraceA.Sent(FrameReason.TcpSackRetransmission).Count + s.TraceA.Sent(FrameReason.TcpFastRetransmission).Count;
        var congestion = s.TraceA.Events.OfType<TcpCongestionChanged>().Select(c => c.What).ToList();
        lab.Check(sackAcks >= 3, "B's duplicate ACKs carried SACK blocks", $"{sackAcks}");
        lab.Check(resent == 2, "A resent exactly the two lost segments in recovery", $"{resent}");
        lab.Check(congestion.Count(w => w.Contains("SACK recovery entered")) == 1 && congestion.Any(w => w.Contains("recovery left")),
            "one SACK recovery was entered and left", string.Join("; ", congestion));
        lab.Check(s.TraceA.Sent(FrameReason.TcpRetransmission).Count == 0, "no retransmission timeout was needed");
        lab.Check(received.SequenceEqual(data), "B received all 12 segments", $"{received.Count} of {data.Length} bytes");
    }

    /// <summary>Whether the segment's options include a SACK block (kind 5).</summary>
    private static bool HasSack(byte[] frame)
    {
        int tcp = Wire.EthernetFrame.HeaderLength + (frame[Wire.EthernetFrame.HeaderLength] & 0xF) * 4;
        int end = tcp + (frame[tcp + 12] >> 4) * 4;
        for (int i = tcp + 20; i < end;)
        {
            if (frame[i] == 0) break;
            if (frame[i] == 1) { i++; continue; }
            if (frame[i] == 5) return true;
            i += Math.Max(2, (int)frame[i + 1]);
        }
        return false;
    }
}
