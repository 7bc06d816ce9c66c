using UserStack.Diagnostics;
using UserStack.Tcp;

namespace UserStack.Tools.Labs;

/// <summary>A zero window and the persist timer: RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17.</summary>
public sealed class PersistLab : Lab
{
    public override string Name => "persist";
    public override string Title => "Zero window and the persist timer";
    public override string Intro =>
        "B's application stops reading and its 4 KB receive buffer fills up, so B advertises a window of 0 and A must stop. " +
        "If the ACK that reopens the window were lost, both would wait forever; so A probes the closed window now and then.";

    public override LabSetup Setup => new() { TcpB = new TcpOptions { ReceiveBufferSize = 4096 } };

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var (client, server) = lab.ConnectStep("B's SYN-ACK offers a window of only 4096 bytes: its receive buffer.");

        var data = LabSession.Pattern(16384);
        int sent = 0;
        lab.Step("A sends 16 KB; B reads nothing", () =>
        {
            sent = client.Send(data, s.Now, out _);
            s.RunUntil(() => client.SendWindow == 0 && server.Available == 4096, TimeSpan.FromSeconds(1));
        },
        "The first 4096 bytes fill B's buffer; B's ACK advertises win 0 and A stops sending (RFC 9293 §3.8.6: the sender MUST NOT " +
        "send beyond the window). A arms the persist timer instead of the retransmission timer.");

        lab.Step("The window stays closed: A probes it", () => s.RunUntil(() => s.TraceA.Sent(FrameReason.TcpPersistProbe).Count >= 4, TimeSpan.FromSeconds(30)),
            "Each time the persist timer fires A sends a one-byte zero-window probe; B answers with an ACK still saying win 0. " +
            "A MUST keep probing while the window is zero (RFC 9293 §3.8.6.1, MUST-36) and backs off like the RTO (RFC 1122 §4.2.2.17).");

        var received = new List<byte>();
        lab.Step("B's application reads: the window opens", () =>
            s.Transfer(client, server, data.AsSpan(0, sent).ToArray(), TimeSpan.FromSeconds(30), received: received, alreadySent: sent),
            "Reading frees B's buffer; B sends a window update (RFC 9293 §3.8.6.2.2) and A sends the rest. Had that update been lost, " +
            "the next probe would have found the open window.");

        var probes = s.TraceA.Sent(FrameReason.TcpPersistProbe);
        var gaps = probes.Zip(probes.Skip(1), (x, y) => y.Time - x.Time).ToList();
        lab.Check(s.TraceB.SentTcp(f => f == Wire.TcpFlags.Ack).Any(f => LabFrames.TryNumbers(f.Frame, out _, out _, out ushort w) && w == 0), "B advertised a zero window");
        lab.Check(probes.Count >= 4, "A sent zero-window probes (the persist timer)", $"{probes.Count}");
        lab.Check(gaps.Count >= 3 && gaps.Zip(gaps.Skip(1)).All(p => p.Second > p.First), "each probe waited longer than the one before",
            string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds} ms")));
        lab.Check(received.Count == sent && received.SequenceEqual(data.Take(sent)), $"B received all {sent} bytes once it read", $"{received.Count}");
    }
}
