using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tools.Labs;

/// <summary>A UDP datagram larger than the MTU, fragmented and reassembled (RFC 791 §2.3, §3.2; RFC 815).</summary>
public sealed class FragmentationLab : Lab
{
    public override string Name => "fragmentation";
    public override string Title => "IPv4 fragmentation and reassembly";
    public override string Intro =>
        "The link carries IP datagrams of at most 1500 bytes (its MTU). A sends a 4000-byte UDP datagram: IP cuts it into " +
        "fragments that each fit, and B puts them back together before UDP sees anything.";

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var a = s.A.Udp.Open();
        var b = s.B.Udp.Open();
        s.B.Udp.Bind(b, new Endpoint(Ipv4Address.Any, 9000));
        var data = LabSession.Pattern(4000);
        lab.Step("A sends 4000 bytes in one datagram", () =>
        {
            s.A.Udp.Send(a, data, new Endpoint(LabSession.AddressB, 9000), s.Now);
            s.RunUntil(() => b.QueuedDatagrams == 1, TimeSpan.FromSeconds(1));
        },
        "The 4008-byte IP payload (8 bytes of UDP header) becomes fragments of 1480, 1480 and 1048 bytes, all with the same " +
        "Identification; offsets count 8-byte units and every fragment but the last has More Fragments set (RFC 791 §3.2). " +
        "B keeps them until the holes are filled (RFC 815) and hands UDP one 4000-byte datagram.");

        var buffer = new byte[8192];
        b.TryReceive(buffer, false, out int copied, out _, out var from);
        var fragments = s.TraceA.Events.OfType<Diagnostics.FrameSent>()
            .Where(f => f.Frame.Length > 34 && f.Frame[12] == 0x08 && f.Frame[13] == 0 && f.Frame[EthernetFrame.HeaderLength + 9] == (byte)IpProtocol.Udp)
            .Select(f => (f.Frame.Length - EthernetFrame.HeaderLength - 20, ((f.Frame[20] & 0x1F) << 8 | f.Frame[21]) * 8, (f.Frame[20] & 0x20) != 0)).ToList();
        lab.Check(fragments.Count == 3 && fragments.All(f => f.Item1 <= 1480), "A sent the datagram as 3 fragments of at most 1480 bytes",
            string.Join(" ", fragments.Select(f => $"{f.Item1}@{f.Item2}{(f.Item3 ? "+" : "")}")));
        lab.Check(fragments.Count == 3 && fragments[0].Item2 == 0 && fragments[1].Item2 == 1480 && fragments[2].Item2 == 2960 && fragments[0].Item3 && fragments[1].Item3 && !fragments[2].Item3,
            "offsets 0, 1480, 2960; More Fragments on all but the last");
        lab.Check(copied == 4000 && buffer.AsSpan(0, copied).SequenceEqual(data) && from.Address == LabSession.AddressA, "B's socket received the 4000 bytes whole", $"{copied} bytes");
    }
}
