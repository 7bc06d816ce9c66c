using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tools.Labs;

/// <summary>Resets: to a closed port (RFC 9293 §3.10.7.1), and forged ones against a connection (RFC 5961 §3 and §4).</summary>
public sealed class RstLab : Lab
{
    public override string Name => "rst";
    public override string Title => "RST: closed ports, resets in the window, challenge ACKs";
    public override string Intro =>
        "A connects to a port nobody listens on and is refused. Then an attacker beside A, who knows the addresses and ports of a " +
        "live connection but not its exact sequence numbers, forges a RST and a SYN; RFC 5961 makes B answer both with a challenge ACK " +
        "instead of dying. Only a RST at exactly the next expected sequence number resets the connection.";

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var refused = s.A.Tcp.Open();
        lab.Step("A connects to port 9, where nobody listens", () =>
        {
            s.A.Tcp.Connect(refused, new Endpoint(LabSession.AddressB, 9), s.Now);
            s.RunUntil(() => refused.State == TcpState.Closed, TimeSpan.FromSeconds(5));
        },
        "No connection exists for the SYN, so B answers with a RST that acknowledges it (RFC 9293 §3.10.7.1); A, in SYN-SENT, accepts " +
        "a RST that acknowledges its SYN and reports \"connection refused\" (§3.10.7.3).");
        var refusedError = refused.TakeError();

        var (client, server) = lab.ConnectStep("A normal handshake, to port 7 this time.");

        byte[] Forge(TcpFlags flags, int offset) => LabFrames.Tcp(LabSession.MacA, LabSession.AddressA, LabSession.MacB, LabSession.AddressB,
            new TcpRepr(client.Local.Port, 7, server.ReceiveNext + offset, flags.HasFlag(TcpFlags.Ack) ? server.SendNext : default, flags, 1000));

        int challenges = 0;
        lab.Step("A forged RST inside B's window, but not at RCV.NXT", () =>
        {
            s.Inject(Forge(TcpFlags.Rst, 1000), "forged by an attacker");
            s.RunFor(TimeSpan.FromMilliseconds(10));
            challenges = s.TraceB.Sent(FrameReason.TcpChallengeAck).Count;
        },
        "The RST's sequence number is in the window but not exactly RCV.NXT: B MUST NOT reset, it sends a challenge ACK instead " +
        "(RFC 5961 §3.2). The real A, if it had sent the RST, would answer with a RST at the right number; A did not, so it ignores the ACK.");
        var afterRst = server.State;

        lab.Step("A forged SYN on the live connection", () =>
        {
            s.Inject(Forge(TcpFlags.Syn, 0), "forged by an attacker");
            s.RunFor(TimeSpan.FromMilliseconds(10));
        },
        "A SYN on a synchronized connection, wherever its sequence number, draws a challenge ACK too (RFC 5961 §4.2), where " +
        "RFC 793 would have reset the connection. (Like tcpdump, the trace counts sequence numbers from the latest SYN, so from here " +
        "B's RCV.NXT reads 0.)");
        var afterSyn = server.State;

        lab.Step("A RST at exactly RCV.NXT", () =>
        {
            s.Inject(Forge(TcpFlags.Rst, 0), "forged, with the exact sequence number");
            s.RunFor(TimeSpan.FromMilliseconds(10));
        },
        "Now the sequence number is exactly RCV.NXT: B resets the connection and reports \"connection reset\" (RFC 5961 §3.2, " +
        "RFC 9293 §3.10.7.4). The attacker had to guess one number out of 2^32, not one out of 2^32 / window.");

        lab.Check(refusedError == Errno.ECONNREFUSED && s.TraceB.Sent(FrameReason.TcpRstNoConnection).Count == 1,
            "the SYN to a closed port drew a RST and A saw connection refused", refusedError.ToString());
        lab.Check(challenges == 1 && afterRst == TcpState.Established, "the in-window RST drew a challenge ACK and B stayed ESTABLISHED", $"{challenges}, {afterRst}");
        lab.Check(s.TraceB.Sent(FrameReason.TcpChallengeAck).Count == 2 && afterSyn == TcpState.Established,
            "the SYN drew a challenge ACK and B stayed ESTABLISHED", $"{s.TraceB.Sent(FrameReason.TcpChallengeAck).Count} challenge ACKs, {afterSyn}");
        lab.Check(server.State == TcpState.Closed && server.TakeError() == Errno.ECONNRESET, "the exact RST reset B's connection", server.State.ToString());
    }
}
