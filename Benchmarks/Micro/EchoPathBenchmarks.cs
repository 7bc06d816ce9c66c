using BenchmarkDotNet.Attributes;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Benchmarks.Micro;

/// <summary>One echo request through the whole core (Ethernet, IPv4, ICMP, ARP lookup) to one reply frame.</summary>
[MemoryDiagnoser]
public class EchoPathBenchmarks
{
    private sealed class NullSink : IFrameSink
    {
        public int Frames;
        public void Transmit(ReadOnlySpan<byte> frame) => Frames++;
    }

    [Params(56, 1472)]
    public int Size { get; set; }

    private NetStack stack = null!;
    private byte[] request = [];
    private readonly NullSink sink = new();

    [GlobalSetup]
    public void Setup()
    {
        var mac = MacAddress.Parse("02:00:00:00:00:02");
        var peer = MacAddress.Parse("02:00:00:00:00:01");
        var us = Ipv4Address.Parse("10.0.0.2");
        var them = Ipv4Address.Parse("10.0.0.1");
        stack = new NetStack(new StackOptions { HardwareAddress = mac, Address = new Ipv4Cidr(us, 24) }, sink);

        var arp = new byte[60];
        new EthernetRepr(MacAddress.Broadcast, peer, EtherType.Arp).Write(arp);
        new ArpRepr(ArpOperation.Request, peer, them, MacAddress.Zero, us).Write(arp.AsSpan(14));
        stack.Receive(arp, Instant.Zero);

        var icmp = IcmpRepr.Echo(IcmpType.EchoRequest, 1, 1, Size);
        var ip = new Ipv4Repr(them, us, IpProtocol.Icmp, icmp.Length, 64, 1);
        request = new byte[14 + ip.TotalLength];
        new EthernetRepr(mac, peer, EtherType.Ipv4).Write(request);
        ip.Write(request.AsSpan(14));
        icmp.Write(request.AsSpan(34));
    }

    [Benchmark]
    public int EchoRequestToReply()
    {
        stack.Receive(request, Instant.Zero); // a fixed instant: no ARP aging mid-run
        return sink.Frames;
    }
}
