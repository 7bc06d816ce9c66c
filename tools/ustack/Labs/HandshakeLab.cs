using UserStack.Tcp;
using UserStack.Transport;

namespace UserStack.Tools.Labs;

/// <summary>The three-way handshake, RFC 9293 §3.5, with the options both SYNs negotiate.</summary>
public sealed class HandshakeLab : Lab
{
    public override string Name => "handshake";
    public override string Title => "The three-way handshake";
    public override string Intro =>
        "B listens on port 7; A opens a connection. Each side picks an initial sequence number (ISN), sends it in a SYN, " +
        "and waits for the other to acknowledge it. Sequence numbers below are relative to each side's ISN, as tcpdump shows them.";

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var listener = s.Listen(s.B, 7);
        var client = s.A.Tcp.Open();
        TcpConnection? server = null;

        lab.Step("A connects: ARP, then a SYN", () =>
        {
            s.A.Tcp.Connect(client, new Endpoint(LabSession.AddressB, 7), s.Now);
            s.RunUntil(() => s.TraceB.Entered("SynReceived"), TimeSpan.FromSeconds(5));
        },
        "A first asks who has 10.9.0.2 (ARP), then sends a SYN carrying its ISN and its options: MSS, SACK permitted, timestamps and " +
        "window scale (RFC 9293 §3.7.1, RFC 2018, RFC 7323). B, listening, answers with its own SYN plus an ACK of A's SYN and moves to " +
        "SYN-RECEIVED (RFC 9293 §3.10.7.2).");

        lab.Step("A receives the SYN-ACK", () => s.RunUntil(() => client.State == TcpState.Established, TimeSpan.FromSeconds(5)),
            "The SYN-ACK acknowledges A's ISN+1, so A's SYN is acknowledged: A enters ESTABLISHED and acknowledges B's SYN " +
            "(RFC 9293 §3.10.7.3). A SYN counts as one byte of sequence space, which is why the ACK is 1.");

        lab.Step("B receives the ACK", () => s.RunUntil(() => (server ??= listener.TakeAccepted()) is not null, TimeSpan.FromSeconds(5)),
            "A's ACK acknowledges B's SYN: B enters ESTABLISHED (RFC 9293 §3.10.7.4) and the connection waits in the listener's accept " +
            "queue until the application accepts it. Three segments, and both sides know each other's ISN.");

        lab.CheckState(client, TcpState.Established, "A");
        lab.CheckState(server, TcpState.Established, "B");
        lab.Check(server is not null && client.SendNext == server.ReceiveNext && server.SendNext == client.ReceiveNext,
            "each side's SND.NXT equals the other's RCV.NXT (ISN + 1: the SYN took one sequence number)");
        int syns = s.TraceA.SentTcp(f => f.HasFlag(Wire.TcpFlags.Syn)).Count;
        lab.Check(syns == 1, "the handshake took one SYN from A (no retransmission)", $"{syns} SYNs");
    }
}
