using UserStack.Tcp;

namespace UserStack.Tools.Labs;

/// <summary>Both ends close at once: RFC 9293 §3.6, figure 13 (FIN-WAIT-1 → CLOSING → TIME-WAIT on both sides).</summary>
public sealed class SimultaneousCloseLab : Lab
{
    public override string Name => "simultaneous-close";
    public override string Title => "Simultaneous close";
    public override string Intro =>
        "Both applications close at the same moment. The FINs cross on the wire, each side sees the other's FIN before the ACK " +
        "of its own, and both pass through CLOSING into TIME-WAIT.";

    public override LabSetup Setup => new() { TcpA = new TcpOptions { MaximumSegmentLifetime = TimeSpan.FromSeconds(5) } };

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var (client, server) = lab.ConnectStep("The handshake (RFC 9293 §3.5). MSL is 5 s in this lab, so TIME-WAIT lasts 10 s.");

        lab.Step("Both close: the FINs cross", () =>
        {
            s.A.Tcp.Close(client, s.Now);
            s.B.Tcp.Close(server, s.Now);
            s.RunUntil(() => client.State == TcpState.TimeWait && server.State == TcpState.TimeWait, TimeSpan.FromSeconds(5));
        },
        "Each side sends its FIN and enters FIN-WAIT-1. The other's FIN arrives first: each acknowledges it and enters CLOSING " +
        "(RFC 9293 §3.10.7.4, FIN-WAIT-1). When the ACK of its own FIN arrives, each enters TIME-WAIT.");

        var (stateA, stateB) = (client.State, server.State);

        lab.Step("Both wait 2 MSL", () => s.RunUntil(() => client.State == TcpState.Closed && server.State == TcpState.Closed, TimeSpan.FromSeconds(30)),
            "Both closed actively, so both wait twice the maximum segment lifetime before forgetting the connection (RFC 9293 §3.10.8).");

        lab.Check(stateA == TcpState.TimeWait && stateB == TcpState.TimeWait, "both reached TIME-WAIT", $"A {stateA}, B {stateB}");
        lab.Check(s.TraceA.Entered("Closing") && s.TraceB.Entered("Closing"), "both went FIN-WAIT-1 → CLOSING");
        lab.CheckState(client, TcpState.Closed, "A, after 2 MSL,");
        lab.CheckState(server, TcpState.Closed, "B, after 2 MSL,");
    }
}
