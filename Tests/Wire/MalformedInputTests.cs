using System.Buffers.Binary;
using UserStack.Diagnostics;
using UserStack.Tests.Support;
using UserStack.Wire;

namespace UserStack.Tests.Wire;

/// <summary>Malformed input is dropped and counted under its reason, never thrown and never answered.</summary>
public class MalformedInputTests
{
    private static byte[] GoodEcho() => Frames.EchoRequest(1, 1, Frames.Pattern(32));

    private static void Refix(byte[] frame)
    {
        // Recompute the IPv4 header checksum after tampering with another header field.
        int ihl = (frame[14] & 0xF) * 4;
        if (ihl < 20 || 14 + ihl > frame.Length) return;
        frame[24] = frame[25] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), InternetChecksum.Compute(frame.AsSpan(14, ihl)));
    }

    private static readonly (string Name, Func<byte[]> Make, DropReason Reason)[] Cases =
    [
        ("empty frame", () => [], DropReason.EthernetTruncated),
        ("13-byte frame", () => new byte[13], DropReason.EthernetTruncated),
        ("frame for another MAC", () => Frames.EchoRequest(1, 1, [], ethernetDestination: MacAddress.Parse("02:99:99:99:99:99")), DropReason.EthernetNotForUs),
        ("multicast frame", () => Frames.EchoRequest(1, 1, [], ethernetDestination: MacAddress.Parse("33:33:00:00:00:01")), DropReason.EthernetNotForUs),
        ("unknown EtherType", () => { var f = GoodEcho(); f[12] = 0x88; f[13] = 0xB5; return f; }, DropReason.EthernetUnknownType),
        ("truncated ARP", () => Frames.ArpRequestForStack()[..30], DropReason.ArpTruncated),
        ("ARP for token ring", () => { var f = Frames.ArpRequestForStack(); f[15] = 6; return f; }, DropReason.ArpUnsupportedHardware),
        ("ARP for IPv6", () => { var f = Frames.ArpRequestForStack(); f[16] = 0x86; f[17] = 0xDD; return f; }, DropReason.ArpUnsupportedProtocol),
        ("ARP operation 9", () => { var f = Frames.ArpRequestForStack(); f[21] = 9; return f; }, DropReason.ArpBadOperation),
        ("ARP from a broadcast MAC", () => Frames.ArpRequestForStack(from: MacAddress.Broadcast), DropReason.ArpInvalidSender),
        ("ARP claiming our address", () => Frames.ArpRequestForStack(fromIp: Frames.StackIp), DropReason.ArpInvalidSender),
        ("ARP between two others", () => Frames.Arp(ArpOperation.Request, MacAddress.Parse("02:00:00:00:00:09"), Ipv4Address.Parse("10.0.0.9"), MacAddress.Zero, Ipv4Address.Parse("10.0.0.77")), DropReason.ArpNotForUs),
        ("IPv4 shorter than 20 bytes", () => GoodEcho()[..(14 + 19)], DropReason.Ipv4Truncated),
        ("version 6 in an IPv4 frame", () => { var f = GoodEcho(); f[14] = 0x65; Refix(f); return f; }, DropReason.Ipv4BadVersion),
        ("IHL below 5", () => { var f = GoodEcho(); f[14] = 0x44; return f; }, DropReason.Ipv4BadHeaderLength),
        ("IHL past the frame", () => { var f = GoodEcho()[..(14 + 40)]; f[14] = 0x4F; return f; }, DropReason.Ipv4BadHeaderLength),
        ("total length past the frame", () => { var f = GoodEcho(); BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), (ushort)(f.Length - 14 + 1)); Refix(f); return f; }, DropReason.Ipv4BadTotalLength),
        ("total length below the header", () => { var f = GoodEcho(); BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 19); Refix(f); return f; }, DropReason.Ipv4BadTotalLength),
        ("bad header checksum", () => { var f = GoodEcho(); f[24] ^= 0xFF; return f; }, DropReason.Ipv4BadChecksum),
        ("option running past the header", () => BadOptions([7, 40, 0, 0]), DropReason.Ipv4BadOptions),
        ("option with length 1", () => BadOptions([0x44, 1, 0, 0]), DropReason.Ipv4BadOptions),
        ("datagram for another address", () => Frames.EchoRequest(1, 1, [], destination: Ipv4Address.Parse("10.0.0.3")), DropReason.Ipv4NotForUs),
        ("multicast destination", () => Frames.EchoRequest(1, 1, [], destination: Ipv4Address.Parse("224.0.0.1")), DropReason.Ipv4NotForUs),
        ("broadcast source", () => Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.EchoRequest, 1, 1, []), source: Ipv4Address.Broadcast), DropReason.Ipv4BadSource),
        ("multicast source", () => Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.EchoRequest, 1, 1, []), source: Ipv4Address.Parse("224.1.2.3")), DropReason.Ipv4BadSource),
        ("loopback source", () => Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.EchoRequest, 1, 1, []), source: Ipv4Address.Loopback), DropReason.Ipv4BadSource),
        ("our own address as source", () => Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.EchoRequest, 1, 1, []), source: Frames.StackIp), DropReason.Ipv4BadSource),
        ("a fragment reaching past 65,535 bytes", () => { var f = GoodEcho(); f[20] = 0x1F; f[21] = 0xFF; Refix(f); return f; }, DropReason.Ipv4FragmentTooLarge),
        ("an empty fragment", () => { var f = Frames.Ipv4(IpProtocol.Icmp, [8, 0, 0, 0, 0, 0, 0]); f[20] = 0x20; Refix(f); return f; }, DropReason.Ipv4FragmentMalformed),
        ("ICMP shorter than 8 bytes", () => Frames.Ipv4(IpProtocol.Icmp, [8, 0, 0, 0]), DropReason.IcmpTruncated),
        ("ICMP bad checksum", () => { var m = Frames.Icmp(IcmpType.EchoRequest, 1, 1, [1, 2, 3]); m[9] ^= 1; return Frames.Ipv4(IpProtocol.Icmp, m); }, DropReason.IcmpBadChecksum),
        ("ICMP type 99", () => Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp((IcmpType)99, 0, 0, [])), DropReason.IcmpUnknownType),
        ("TCP shorter than 20 bytes", () => Frames.Ipv4(IpProtocol.Tcp, new byte[19]), DropReason.TcpTruncated),
        ("TCP data offset below 5", () => Tcp(t => t[12] = 0x40), DropReason.TcpBadDataOffset),
        ("TCP data offset past the segment", () => Tcp(t => t[12] = 0xF0), DropReason.TcpBadDataOffset),
        ("TCP bad checksum", () => Tcp(t => t[16] ^= 0xFF, fixChecksum: false), DropReason.TcpBadChecksum),
        ("TCP option running past the header", () => Tcp(t => { t[12] = 0x60; t[20] = 2; t[21] = 9; }), DropReason.TcpBadOption),
        ("TCP MSS option of the wrong length", () => Tcp(t => { t[12] = 0x60; t[20] = 2; t[21] = 3; t[23] = 1; }), DropReason.TcpBadOption),
        ("TCP to a broadcast address", () => Frames.Ipv4(IpProtocol.Tcp, new byte[20], destination: Ipv4Address.Broadcast, ethernetDestination: MacAddress.Broadcast), DropReason.TcpNoConnection),
        ("echo to the subnet broadcast", () => Frames.EchoRequest(1, 1, [], destination: Ipv4Address.Parse("10.0.0.255"), ethernetDestination: MacAddress.Broadcast), DropReason.IcmpBroadcastEcho),
    ];

    /// <summary>A 24-byte TCP segment (a SYN to port 80), tampered with, its checksum redone unless asked not to.</summary>
    private static byte[] Tcp(Action<byte[]> tamper, bool fixChecksum = true)
    {
        var tcp = new byte[24];
        new TcpRepr(5000, 80, new SeqNumber(1), default, TcpFlags.Syn, 1000).Write(tcp, Frames.PeerIp, Frames.StackIp);
        tamper(tcp);
        if (fixChecksum)
        {
            tcp[16] = tcp[17] = 0;
            ulong sum = InternetChecksum.AddPseudoHeader(0, Frames.PeerIp, Frames.StackIp, IpProtocol.Tcp, tcp.Length);
            BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16), InternetChecksum.Finish(InternetChecksum.Add(sum, tcp)));
        }
        return Frames.Ipv4(IpProtocol.Tcp, tcp);
    }

    private static byte[] BadOptions(byte[] options)
    {
        var f = GoodEcho();
        var g = new byte[f.Length + options.Length];
        f.AsSpan(0, 34).CopyTo(g);
        options.CopyTo(g, 34);
        f.AsSpan(34).CopyTo(g.AsSpan(34 + options.Length));
        g[14] = (byte)(0x40 | (20 + options.Length) / 4);
        BinaryPrimitives.WriteUInt16BigEndian(g.AsSpan(16), (ushort)(g.Length - 14));
        Refix(g);
        return g;
    }

    public static IEnumerable<TestCaseData> AllCases() => Cases.Select(c => new TestCaseData(c.Make, c.Reason).SetName("Dropped and counted: " + c.Name));

    [Rfc(9293, "MUST-3"), Rfc(9293, "MUST-7"), Rfc(9293, "MUST-57")]
    [TestCaseSource(nameof(AllCases))]
    public void Malformed_input_is_dropped_and_counted(Func<byte[]> make, DropReason reason)
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        Assert.DoesNotThrow(() => s.Receive(make()));
        Assert.That(s.Stack.Counters[reason], Is.EqualTo(1), $"counted as {reason}");
        Assert.That(s.Stack.Counters.TotalDrops, Is.EqualTo(1), "counted once, under one reason");
        Assert.That(s.Sink.Frames.Where(IsEchoReply), Is.Empty, "no echo reply to a malformed request");
    }

    private static bool IsEchoReply(byte[] frame) =>
        EthernetFrame.TryRead(frame, out var e, out _) && e.EtherType == EtherType.Ipv4 &&
        Ipv4Packet.TryRead(e.Payload, out var ip, out _) && ip.Protocol == IpProtocol.Icmp &&
        IcmpPacket.TryRead(ip.Payload, out var icmp, out _) && icmp.Type == IcmpType.EchoReply;

    [Test]
    public void Every_truncation_of_a_valid_frame_is_handled_without_an_exception()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        foreach (var frame in new[] { GoodEcho(), Frames.ArpRequestForStack(), Frames.Ipv4(IpProtocol.Udp, new byte[40]) })
            for (int n = 0; n <= frame.Length; n++)
                Assert.DoesNotThrow(() => s.Receive(frame[..n]), $"length {n}");
    }

    [Test]
    public void Random_bytes_and_random_bit_flips_never_throw()
    {
        var random = new Random(826);
        var s = new StackUnderTest();
        s.LearnPeer();
        for (int i = 0; i < 20_000; i++)
        {
            byte[] frame;
            if (i % 2 == 0)
            {
                frame = new byte[random.Next(0, 200)];
                random.NextBytes(frame);
                if (frame.Length >= 14 && i % 4 == 0) { Frames.StackMac.Write(frame); frame[12] = 0x08; frame[13] = (byte)(i % 8 == 0 ? 0x00 : 0x06); }
            }
            else
            {
                frame = GoodEcho();
                for (int k = random.Next(1, 4); k > 0; k--) frame[random.Next(frame.Length)] ^= (byte)(1 << random.Next(8));
            }
            Assert.DoesNotThrow(() => s.Receive(frame));
        }
        Assert.That(s.Stack.Counters.TotalDrops, Is.GreaterThan(0));
    }
}
