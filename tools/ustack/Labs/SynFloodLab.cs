using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tools.Labs;

/// <summary>A SYN flood fills the listener's queue; SYN cookies keep it open to real clients (RFC 4987 §3.6).</summary>
public sealed class SynFloodLab : Lab
{
    public override string Name => "syn-flood";
    public override string Title => "A SYN flood against the backlog, and SYN cookies";
    public override string Intro =>
        "An attacker M (10.9.0.66) beside A sends SYNs and never completes the handshakes. Each one costs B a half-open connection " +
        "in SYN-RECEIVED, and B's listener takes only 4 (its backlog). Once the queue is full, B answers with SYN cookies: the " +
        "connection's state is encoded in its ISN and nothing is kept, so A can still connect.";

    private static readonly MacAddress MacM = MacAddress.Parse("02:00:00:00:09:66");
    private static readonly Ipv4Address AddressM = Ipv4Address.Parse("10.9.0.66");

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var listener = s.Listen(s.B, 7, backlog: 4);
        lab.Step("M announces itself", () => { s.Inject(LabFrames.ArpRequest(MacM, AddressM, LabSession.AddressB), "from M"); s.RunFor(TimeSpan.FromMilliseconds(5)); },
            "M asks for B's MAC; B learns M's from the request (RFC 826) and answers. M is a silent host: it never answers anything.");

        lab.Step("M sends 8 SYNs", () =>
        {
            for (int i = 0; i < 8; i++)
                s.Inject(LabFrames.Tcp(MacM, AddressM, LabSession.MacB, LabSession.AddressB, new TcpRepr((ushort)(40000 + i), 7, new SeqNumber(1000u * (uint)i), default, TcpFlags.Syn, 64240)), "from M");
            s.RunFor(TimeSpan.FromMilliseconds(5));
        },
        "The first 4 SYNs each create a half-open connection (SYN-RECEIVED) and a SYN-ACK. Then the queue is full: B answers the " +
        "other 4 with SYN cookies (RFC 4987 §3.6) and keeps nothing for them. A shares the wire and sees the SYN-ACKs to M go by: " +
        "not its MAC address, it drops them.");
        int halfOpen = s.TraceB.Events.OfType<TcpStateChanged>().Count(c => c.To == "SynReceived");

        var client = s.A.Tcp.Open();
        TcpConnection? accepted = null;
        lab.Step("A, a real client, connects", () =>
        {
            s.A.Tcp.Connect(client, new Endpoint(LabSession.AddressB, 7), s.Now);
            s.RunUntil(() => (accepted ??= listener.TakeAccepted()) is not null, TimeSpan.FromSeconds(5));
        },
        "A's SYN also gets a cookie. A's ACK returns the cookie (ISN + 1): B checks it, rebuilds the connection from it and the ACK " +
        "(MSS from the cookie), and A is served although the queue is still full of M's half-open connections.");

        int cookies = s.TraceB.Sent(FrameReason.TcpSynAckCookie).Count;
        lab.Check(halfOpen == 4, "B kept exactly its backlog (4) of half-open connections", $"{halfOpen}");
        lab.Check(cookies >= 5, "B answered the SYNs beyond the backlog with SYN cookies (M's 4 and A's)", $"{cookies}");
        lab.CheckState(client, TcpState.Established, "A");
        lab.Check(accepted is { State: TcpState.Established } && accepted.Remote?.Address == LabSession.AddressA, "B accepted A's connection, built from the cookie");
    }
}
