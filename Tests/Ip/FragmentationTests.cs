using PacketDotNet;
using UserStack.Diagnostics;
using UserStack.Ip;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Ip;

/// <summary>Fragmentation on send (RFC 791 3.2, RFC 1122 3.3.5) and reassembly through the whole stack.</summary>
public class FragmentationTests
{
    private static IPv4Packet Decode(byte[] frame) => Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<IPv4Packet>();

    /// <summary>PacketDotNet checks each fragment; our parser gives the payloads, put back together by offset.</summary>
    private static byte[] Join(IReadOnlyList<byte[]> frames)
    {
        var ips = frames.Select(Decode).ToList();
        Assert.That(ips.All(ip => ip.ValidIPChecksum), Is.True, "every fragment's header checksum");
        Assert.That(ips.Select(ip => ip.Id).Distinct().Count(), Is.EqualTo(1), "one Identification");
        var whole = new List<byte>();
        foreach (var (ip, frame) in ips.Zip(frames).OrderBy(p => p.First.FragmentOffset))
        {
            Assert.That(ip.FragmentOffset * 8, Is.EqualTo(whole.Count), "offsets follow each other in 8-byte units");
            whole.AddRange(FragmentFrames.IpPayload(frame));
        }
        Assert.That(ips.OrderBy(ip => ip.FragmentOffset).Select(ip => (ip.FragmentFlags & 1) == 1), Is.EqualTo(ips.Select((_, i) => i < ips.Count - 1)), "MF on all but the last");
        return whole.ToArray();
    }

    private static (StackUnderTest S, UserStack.Udp.UdpSocket Socket) Udp(int mtu = 1500)
    {
        var s = new StackUnderTest(Frames.Options(mtu));
        s.LearnPeer();
        var socket = s.Stack.Udp.Open();
        Assert.That(s.Stack.Udp.Bind(socket, new Endpoint(Ipv4Address.Any, 7)), Is.EqualTo(Errno.Ok));
        return (s, socket);
    }

    /// <summary>Linux IP_PMTUDISC_WANT, the UDP default: DF on a datagram that fits, none on one that must be fragmented.</summary>
    [TestCase(1472, 1, true)]
    [TestCase(1473, 2, false)]
    [TestCase(8000, 6, false)]
    [TestCase(65507, 45, false)]
    public void A_udp_datagram_over_the_mtu_is_fragmented_and_one_that_fits_carries_df(int size, int frames, bool dontFragment)
    {
        var (s, socket) = Udp();
        var data = Frames.Pattern(size, seed: 9);
        Assert.That(s.Stack.Udp.Send(socket, data, new Endpoint(Frames.PeerIp, 9), s.Now), Is.EqualTo(Errno.Ok));
        Assert.That(s.Sink.Frames, Has.Count.EqualTo(frames));
        Assert.That(s.Sink.Frames.All(f => f.Length <= 14 + 1500), Is.True, "no frame above the MTU");
        Assert.That(s.Sink.Frames.All(f => (Decode(f).FragmentFlags & 2) == (dontFragment ? 2 : 0)), Is.True);
        var udp = Join(s.Sink.Frames);
        Assert.That(udp[8..], Is.EqualTo(data));
        if (frames > 1) Assert.That(s.Stack.Counters[Counter.Ipv4FragmentsSent], Is.EqualTo(frames));
    }

    [Test]
    public void Udp_refuses_65508_bytes_and_with_ip_pmtudisc_do_anything_over_the_mtu()
    {
        var (s, socket) = Udp();
        Assert.That(s.Stack.Udp.Send(socket, new byte[65508], new Endpoint(Frames.PeerIp, 9), s.Now), Is.EqualTo(Errno.EMSGSIZE), "65,535 - 20 - 8");
        socket.PathMtuDiscovery = PathMtuDiscovery.Do;
        Assert.That(s.Stack.Udp.Send(socket, new byte[1473], new Endpoint(Frames.PeerIp, 9), s.Now), Is.EqualTo(Errno.EMSGSIZE));
        Assert.That(s.Stack.Udp.Send(socket, new byte[1472], new Endpoint(Frames.PeerIp, 9), s.Now), Is.EqualTo(Errno.Ok));
        Assert.That(s.Sink.Frames, Has.Count.EqualTo(1));
        Assert.That(Decode(s.Sink.Frames[0]).FragmentFlags & 2, Is.EqualTo(2), "DF");
    }

    [Test]
    public void With_ip_pmtudisc_dont_nothing_carries_df()
    {
        var (s, socket) = Udp();
        socket.PathMtuDiscovery = PathMtuDiscovery.Dont;
        Assert.That(s.Stack.Udp.Send(socket, new byte[100], new Endpoint(Frames.PeerIp, 9), s.Now), Is.EqualTo(Errno.Ok));
        Assert.That(Decode(s.Sink.Frames[0]).FragmentFlags, Is.Zero);
    }

    /// <summary>The largest UDP datagram arrives in 45 fragments, in a random order, and is read whole.</summary>
    [Test]
    public void A_65507_byte_udp_datagram_in_fragments_reaches_the_socket_whole([Values(1, 2, 3)] int seed)
    {
        var (s, socket) = Udp();
        var data = Frames.Pattern(65507, seed);
        var fragments = FragmentFrames.Split(IpProtocol.Udp, FragmentFrames.Udp(7, data), 1480);
        var random = new Random(seed);
        foreach (var f in fragments.OrderBy(_ => random.Next())) s.Receive(f);
        var buffer = new byte[70_000];
        Assert.That(socket.TryReceive(buffer, false, out int n, out _, out var from), Is.EqualTo(Errno.Ok));
        Assert.That(buffer[..n], Is.EqualTo(data));
        Assert.That(from, Is.EqualTo(new Endpoint(Frames.PeerIp, 5000)));
        Assert.That(s.Stack.Counters[Counter.Ipv4Reassembled], Is.EqualTo(1));
        Assert.That(s.Stack.Ipv4.Reassembler.Memory, Is.Zero);
    }

    /// <summary>`ping -s 65507`: the request arrives in fragments, the reply leaves in fragments (ICMP replies never carry DF, as Linux).</summary>
    [Test]
    public void A_65507_byte_echo_request_in_fragments_is_answered_in_fragments()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var data = Frames.Pattern(65507, seed: 4);
        var request = Frames.Icmp(IcmpType.EchoRequest, 0x1234, 1, data);
        foreach (var f in Enumerable.Reverse(FragmentFrames.Split(IpProtocol.Icmp, request, 1480))) s.Receive(f);
        Assert.That(s.Sink.Frames, Has.Count.EqualTo(45));
        Assert.That(s.Sink.Frames.All(f => (Decode(f).FragmentFlags & 2) == 0), Is.True, "no DF");
        var reply = Join(s.Sink.Frames);
        Assert.That(IcmpPacket.TryRead(reply, out var icmp, out var why), Is.True, why.ToString());
        Assert.That(icmp.Type, Is.EqualTo(IcmpType.EchoReply));
        Assert.That(icmp.Identifier, Is.EqualTo(0x1234));
        Assert.That(icmp.Payload.ToArray(), Is.EqualTo(data));
    }

    /// <summary>RFC 792 / RFC 1122 3.3.2: a datagram not complete in 30 s is dropped; time exceeded (code 1) goes back only when the first fragment arrived (Linux ip_expire).</summary>
    [Test]
    public void Reassembly_timeout_sends_time_exceeded_quoting_the_first_fragment()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var udp = FragmentFrames.Udp(7, Frames.Pattern(3000));
        var fragments = FragmentFrames.Split(IpProtocol.Udp, udp, 1480);
        s.Receive(fragments[0]);
        s.Receive(fragments[2]);
        s.Advance(TimeSpan.FromSeconds(29.9));
        Assert.That(s.Sink.Frames, Is.Empty);
        s.Advance(TimeSpan.FromSeconds(0.2));
        Assert.That(s.Stack.Counters[DropReason.Ipv4ReassemblyTimeout], Is.EqualTo(1));
        var error = FragmentFrames.IpPayload(s.Sink.Frames.Single());
        Assert.That(IcmpPacket.TryRead(error, out var icmp, out _), Is.True);
        Assert.That((icmp.Type, icmp.Code), Is.EqualTo((IcmpType.TimeExceeded, (byte)1)));
        var firstHeader = fragments[0].AsSpan(14, 28).ToArray();
        Assert.That(icmp.Payload[..28].ToArray(), Is.EqualTo(firstHeader), "the first fragment's header and 8 bytes");
        Assert.That(s.Stack.Ipv4.Reassembler.Memory, Is.Zero);
    }

    [Test]
    public void Reassembly_timeout_without_the_first_fragment_is_silent()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var fragments = FragmentFrames.Split(IpProtocol.Udp, FragmentFrames.Udp(7, Frames.Pattern(3000)), 1480);
        s.Receive(fragments[1]);
        s.Receive(fragments[2]);
        s.Advance(TimeSpan.FromSeconds(31));
        Assert.That(s.Stack.Counters[DropReason.Ipv4ReassemblyTimeout], Is.EqualTo(1));
        Assert.That(s.Sink.Frames, Is.Empty);
        Assert.That(s.Stack.Ipv4.Reassembler.NextDeadline, Is.EqualTo(UserStack.Time.Instant.MaxValue), "no reassembly timer left");
    }

    /// <summary>RFC 1122 3.2.2: no ICMP error about a non-initial fragment; a reassembled datagram is answered once (port unreachable).</summary>
    [Test]
    public void A_fragmented_datagram_to_a_closed_port_gets_one_port_unreachable()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        foreach (var f in FragmentFrames.Split(IpProtocol.Udp, FragmentFrames.Udp(4444, Frames.Pattern(2000)), 1480)) s.Receive(f);
        var error = FragmentFrames.IpPayload(s.Sink.Frames.Single());
        Assert.That(IcmpPacket.TryRead(error, out var icmp, out _), Is.True);
        Assert.That((icmp.Type, icmp.Code), Is.EqualTo((IcmpType.DestinationUnreachable, (byte)3)));
    }

    [Test]
    public void No_icmp_error_about_a_later_fragment_an_icmp_error_or_a_multicast_source()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var later = FragmentFrames.Fragment(IpProtocol.Udp, new byte[64], 8, 64, false);
        Assert.That(Send(s, later), Is.False, "non-initial fragment");
        var first = FragmentFrames.Fragment(IpProtocol.Udp, new byte[64], 0, 8, true);
        Assert.That(Send(s, first), Is.True, "the first fragment may be quoted");
        var icmpError = Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.DestinationUnreachable, 0, 0, new byte[28], code: 3));
        Assert.That(Send(s, icmpError), Is.False, "an ICMP error");
        var echo = Frames.Ipv4(IpProtocol.Icmp, Frames.Icmp(IcmpType.EchoRequest, 1, 1, []));
        Assert.That(Send(s, echo), Is.True, "an informational ICMP message may be quoted");
        var toMulticast = Frames.Ipv4(IpProtocol.Udp, new byte[8], destination: Ipv4Address.Parse("224.0.0.9"));
        Assert.That(Send(s, toMulticast), Is.False, "to a multicast address");
    }

    private static bool Send(StackUnderTest s, byte[] frame)
    {
        Assert.That(Ipv4Packet.TryRead(frame.AsSpan(14), out var ip, out _), Is.True);
        return s.Stack.Icmp.SendError(IcmpType.DestinationUnreachable, 3, ip, s.Now);
    }

    /// <summary>RFC 1191 4: "fragmentation needed" carries the next-hop MTU in the low 16 bits of the unused word, and PacketDotNet reads it there.</summary>
    [Test]
    public void Fragmentation_needed_carries_the_next_hop_mtu()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var original = Frames.Ipv4(IpProtocol.Udp, new byte[1400]);
        Assert.That(Ipv4Packet.TryRead(original.AsSpan(14), out var ip, out _), Is.True);
        Assert.That(s.Stack.Icmp.SendFragmentationNeeded(ip, 1280, s.Now), Is.True);
        var icmp = Packet.ParsePacket(LinkLayers.Ethernet, s.Sink.Frames.Single()).Extract<IcmpV4Packet>();
        Assert.That(icmp.TypeCode, Is.EqualTo(IcmpV4TypeCode.UnreachableFragmentationNeeded));
        Assert.That(icmp.ValidIcmpChecksum, Is.True);
        Assert.That(icmp.Sequence, Is.EqualTo(1280), "the second 16 bits of the word");
        Assert.That(icmp.Id, Is.Zero, "the first 16 bits stay unused");
    }

    /// <summary>Linux raw_sendmsg goes through ip_append_data: a raw datagram over the MTU is fragmented (IP_HDRINCL ones are not).</summary>
    [Test]
    public void A_raw_datagram_over_the_mtu_is_fragmented()
    {
        var s = new StackUnderTest();
        s.LearnPeer();
        var raw = s.Stack.Raw.Open(IpProtocol.Icmp);
        var echo = Frames.Icmp(IcmpType.EchoRequest, 1, 1, Frames.Pattern(4000));
        Assert.That(s.Stack.Raw.Send(raw, echo, Frames.PeerIp, s.Now), Is.EqualTo(Errno.Ok));
        Assert.That(s.Sink.Frames, Has.Count.EqualTo(3));
        Assert.That(Join(s.Sink.Frames), Is.EqualTo(echo));
        Assert.That(s.Stack.Raw.Send(raw, new byte[65516], Frames.PeerIp, s.Now), Is.EqualTo(Errno.EMSGSIZE), "20 + 65,516 > 65,535");
    }
}
