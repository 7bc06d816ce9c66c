using BenchmarkDotNet.Attributes;
using UserStack.Wire;

namespace UserStack.Benchmarks.Micro;

/// <summary>Parse (with every check) and build of each header, in place: nanoseconds, zero bytes allocated.</summary>
[MemoryDiagnoser]
public class HeaderBenchmarks
{
    private static readonly MacAddress A = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress B = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address IpA = Ipv4Address.Parse("10.0.0.1");
    private static readonly Ipv4Address IpB = Ipv4Address.Parse("10.0.0.2");

    private readonly byte[] arpFrame = new byte[60];
    private readonly byte[] icmpFrame = new byte[14 + 20 + 8 + 56];
    private readonly byte[] udpFrame = new byte[14 + 20 + 8 + 512];
    private readonly byte[] tcpFrame = new byte[14 + 20 + 40 + 1400];
    private readonly byte[] scratch = new byte[1514];
    private static readonly TcpOptionsRepr SynOptions = new(1460, 7, true, (1u, 0u));
    private TcpRepr tcp;

    [GlobalSetup]
    public void Setup()
    {
        new EthernetRepr(MacAddress.Broadcast, A, EtherType.Arp).Write(arpFrame);
        new ArpRepr(ArpOperation.Request, A, IpA, MacAddress.Zero, IpB).Write(arpFrame.AsSpan(14));

        BuildIp(icmpFrame, IpProtocol.Icmp);
        IcmpRepr.Echo(IcmpType.EchoRequest, 1, 1, 56).Write(icmpFrame.AsSpan(34));
        BuildIp(udpFrame, IpProtocol.Udp);
        new UdpRepr(1000, 7, 512).Write(udpFrame.AsSpan(34), IpA, IpB);
        tcp = new TcpRepr(1000, 80, new SeqNumber(1), new SeqNumber(2), TcpFlags.Ack | TcpFlags.Psh, 65535, 0, new TcpOptionsRepr(Timestamps: (5u, 6u)), 1400);
        BuildIp(tcpFrame, IpProtocol.Tcp);
        tcp.Write(tcpFrame.AsSpan(34), IpA, IpB);
    }

    private static void BuildIp(byte[] frame, IpProtocol protocol)
    {
        new EthernetRepr(B, A, EtherType.Ipv4).Write(frame);
        new Ipv4Repr(IpA, IpB, protocol, frame.Length - 34, 64, 1).Write(frame.AsSpan(14));
    }

    [Benchmark] public EtherType ParseEthernet() => EthernetFrame.TryRead(icmpFrame, out var f, out _) ? f.EtherType : default;
    [Benchmark] public Ipv4Address ParseArp() => ArpPacket.TryRead(arpFrame.AsSpan(14), out var p, out _) ? p.TargetProtocolAddress : default;
    [Benchmark] public int ParseIpv4() => Ipv4Packet.TryRead(icmpFrame.AsSpan(14), out var p, out _) ? p.Payload.Length : -1;
    [Benchmark] public ushort ParseIcmp56() => IcmpPacket.TryRead(icmpFrame.AsSpan(34), out var p, out _) ? p.SequenceNumber : (ushort)0;
    [Benchmark] public int ParseUdp512() => UdpDatagram.TryRead(udpFrame.AsSpan(34), IpA, IpB, out var d, out _) ? d.Payload.Length : -1;
    [Benchmark] public int ParseTcp1400() => TcpSegment.TryRead(tcpFrame.AsSpan(34), IpA, IpB, out var s, out _) ? s.Payload.Length : -1;

    [Benchmark] public void BuildEthernet() => new EthernetRepr(B, A, EtherType.Ipv4).Write(scratch);
    [Benchmark] public void BuildArp() => new ArpRepr(ArpOperation.Reply, A, IpA, B, IpB).Write(scratch);
    [Benchmark] public void BuildIpv4() => new Ipv4Repr(IpA, IpB, IpProtocol.Udp, 512, 64, 9).Write(scratch);
    [Benchmark] public void BuildIcmp56() => IcmpRepr.Echo(IcmpType.EchoReply, 1, 2, 56).Write(scratch);
    [Benchmark] public void BuildUdp512() => new UdpRepr(7, 1000, 512).Write(scratch, IpA, IpB);
    [Benchmark] public void BuildTcpSynOptions() => new TcpRepr(1000, 80, new SeqNumber(1), default, TcpFlags.Syn, 65535, 0, SynOptions).Write(scratch, IpA, IpB);
    [Benchmark] public void BuildTcp1400() => tcp.Write(scratch, IpA, IpB);
}
