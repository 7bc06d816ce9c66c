using UserStack.Tcp;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tools.Labs;

/// <summary>Both ends open at once: RFC 9293 §3.5, figure 8.</summary>
public sealed class SimultaneousOpenLab : Lab
{
    public override string Name => "simultaneous-open";
    public override string Title => "Simultaneous open";
    public override string Intro =>
        "Nobody listens: A (port 5000) connects to B's port 6000 while B (port 6000) connects to A's port 5000. The two SYNs cross " +
        "on the wire, and TCP still builds one connection from them: four segments instead of three.";

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var a = s.A.Tcp.Open();
        var b = s.B.Tcp.Open();
        s.A.Tcp.Bind(a, new Endpoint(Ipv4Address.Any, 5000));
        s.B.Tcp.Bind(b, new Endpoint(Ipv4Address.Any, 6000));
        lab.Step("Both connect at the same moment: the SYNs cross", () =>
        {
            s.A.Tcp.Connect(a, new Endpoint(LabSession.AddressB, 6000), s.Now);
            s.B.Tcp.Connect(b, new Endpoint(LabSession.AddressA, 5000), s.Now);
            s.RunUntil(() => s.TraceA.Entered("SynReceived") && s.TraceB.Entered("SynReceived"), TimeSpan.FromSeconds(5));
        },
        "Each side, in SYN-SENT, receives a SYN without an ACK: it moves to SYN-RECEIVED and answers with a SYN-ACK that repeats its " +
        "own ISN and acknowledges the other's (RFC 9293 §3.10.7.3, the simultaneous-open branch).");

        lab.Step("The SYN-ACKs cross, then the ACKs", () => s.RunUntil(() => a.State == TcpState.Established && b.State == TcpState.Established, TimeSpan.FromSeconds(5)),
            "Each SYN-ACK repeats a SYN already received, so its sequence number is below RCV.NXT: the receiver drops it as not " +
            "acceptable and answers with an ACK (RFC 9293 §3.10.7.4, first check). That ACK acknowledges the receiver's own SYN, so on " +
            "it each side moves from SYN-RECEIVED to ESTABLISHED. " +
            "No side was ever a listener.");

        lab.CheckState(a, TcpState.Established, "A");
        lab.CheckState(b, TcpState.Established, "B");
        lab.Check(s.TraceA.Entered("SynReceived") && s.TraceB.Entered("SynReceived"), "both passed through SYN-RECEIVED from SYN-SENT");
        lab.Check(a.SendNext == b.ReceiveNext && b.SendNext == a.ReceiveNext, "each side's SND.NXT equals the other's RCV.NXT");
    }
}
