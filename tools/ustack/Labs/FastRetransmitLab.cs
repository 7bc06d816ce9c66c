using UserStack.Diagnostics;
using UserStack.Tcp;

namespace UserStack.Tools.Labs;

/// <summary>A lost segment repaired by fast retransmit after three duplicate ACKs: RFC 5681 §3.2, RFC 6582.</summary>
public sealed class FastRetransmitLab : Lab
{
    public override string Name => "fast-retransmit";
    public override string Title => "Loss and fast retransmit";
    public override string Intro =>
        "A sends twelve segments and the wire loses the third. Every later segment makes B repeat its last ACK; the third duplicate " +
        "tells A a segment is missing long before its retransmission timer would. SACK is off here to show the classic NewReno " +
        "mechanism (see `ustack lab sack-recovery` for SACK).";

    public override LabSetup Setup => new() { TcpA = new TcpOptions { SelectiveAcknowledgments = false, CongestionControl = "newreno" } };

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var (client, server) = lab.ConnectStep("The handshake (RFC 9293 §3.5). Both sides agree not to use SACK: A did not offer it.");

        var data = LabSession.Pattern(12 * client.SendMss);
        List<byte> received = null!;
        s.DropFromA = LabFrames.DropDataSegments(3);
        lab.Step("A sends 12 segments; the third is lost", () => received = s.Transfer(client, server, data, TimeSpan.FromSeconds(5)),
            "B acknowledges segments 1 and 2, then answers segments 4, 5, 6... with the same ACK: the duplicate ACKs of RFC 5681 §3.2 " +
            "(out-of-order data MUST be acknowledged at once, RFC 5681 §4.2). On the third duplicate A resends the missing segment without " +
            "waiting for the RTO, halves its congestion window (ssthresh) and enters NewReno recovery (RFC 6582 §3.2) until all it had sent is acknowledged.");

        var lost = s.Items.First(i => i.Lost).Record.Time;
        var retransmit = s.TraceA.Sent(FrameReason.TcpFastRetransmission);
        var dupAcks = s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack)
            .Where(f => f.Time.Microseconds / 1e6 > lost && (retransmit.Count == 0 || f.Time < retransmit[0].Time))
            .Select(f => { LabFrames.TryNumbers(f.Frame, out _, out uint ack, out _); return ack; })
            .GroupBy(a => a).Max(g => (int?)g.Count()) ?? 0;
        lab.Check(dupAcks >= 4, "B sent the same ACK at least four times (the original and three duplicates) before the retransmission", $"{dupAcks}");
        lab.Check(retransmit.Count == 1, "A resent the lost segment once, by fast retransmit", $"{retransmit.Count}");
        lab.Check(s.TraceA.Sent(FrameReason.TcpRetransmission).Count == 0, "no retransmission timeout was needed");
        lab.Check(received.SequenceEqual(data), "B received all 12 segments in order", $"{received.Count} of {data.Length} bytes");
    }
}
