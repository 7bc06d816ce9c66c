using UserStack.Diagnostics;
using UserStack.Link;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tools.Labs;

/// <summary>ARP: resolving a neighbour before the first datagram (RFC 826, RFC 1122 §2.3.2).</summary>
public sealed class ArpLab : Lab
{
    public override string Name => "arp";
    public override string Title => "ARP resolution";
    public override string Intro =>
        "A sends a UDP datagram to B but knows only B's IP address, not its Ethernet address. A holds the datagram, broadcasts an " +
        "ARP request, and sends the datagram when the reply comes. Then A tries a neighbour that does not exist.";

    private static readonly Ipv4Address Nobody = Ipv4Address.Parse("10.9.0.77");

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var a = s.A.Udp.Open();
        var b = s.B.Udp.Open();
        s.B.Udp.Bind(b, new Endpoint(Ipv4Address.Any, 7));
        lab.Step("A sends a datagram to 10.9.0.2", () =>
        {
            s.A.Udp.Send(a, "hello"u8, new Endpoint(LabSession.AddressB, 7), s.Now);
            s.RunUntil(() => b.QueuedDatagrams == 1, TimeSpan.FromSeconds(1));
        },
        "A's cache has no entry for 10.9.0.2: it queues the datagram and broadcasts \"who-has 10.9.0.2\" (RFC 826). B answers and, " +
        "as RFC 826's merge rule says, also records A's address from the request. A's entry becomes reachable and the datagram goes.");

        lab.Step("A sends to 10.9.0.77, which nobody has", () =>
        {
            s.A.Udp.Send(a, "anyone?"u8, new Endpoint(Nobody, 7), s.Now);
            s.RunFor(TimeSpan.FromSeconds(5));
        },
        "No reply: A asks again once a second, at most 3 times (RFC 1122 §2.3.2.1 limits the rate to one a second), then gives up " +
        "and drops the datagram it held, counted.");

        var requests = s.TraceA.Events.OfType<FrameSent>().Count(f => LabFrames.IsArp(f.Frame) && f.Frame[EthernetFrame.HeaderLength + 7] == 1
            && Ipv4Address.Read(f.Frame.AsSpan(EthernetFrame.HeaderLength + 24)) == Nobody);
        lab.Check(s.A.Arp.Find(LabSession.AddressB) is { State: ArpState.Reachable } e && e.HardwareAddress == LabSession.MacB, "A's cache has 10.9.0.2 at 02:00:00:00:09:02");
        lab.Check(s.B.Arp.Find(LabSession.AddressA)?.HardwareAddress == LabSession.MacA, "B learned A's address from the request");
        lab.Check(b.QueuedDatagrams == 1, "B received the datagram that waited for ARP");
        lab.Check(requests == 3, "A asked for 10.9.0.77 three times", $"{requests}");
        lab.Check(s.A.Arp.Find(Nobody) is not { State: ArpState.Reachable }, "10.9.0.77 stayed unresolved");
    }
}
