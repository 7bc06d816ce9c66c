using System.Buffers.Binary;
using System.Text;
using UserStack.Drill.Language;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Drill;

// Packets: building `<` lines into frames and checking `>` lines against what the stack sent,
// with packetdrill's mapping between script and live numbers (run_packet.c).
public sealed partial class DrillRunner
{
    private const ushort RemoteEphemeralPort = 51000;

    private ushort localPort, remotePort = RemoteEphemeralPort;
    private ushort LocalPort => localPort != 0 ? localPort : config.BindPort;
    private TcpNumbering? numbering;        // packetdrill's script <-> live mapping (TcpNumbering.cs)
    private TcpNumbering Numbers => numbering ??= new TcpNumbering(config, relax);

    // ---- inbound -------------------------------------------------------------------------------

    private void Inject(PacketEvent e)
    {
        if (e.Outer.Count > 0) throw new DrillUnsupported($"{e.Outer[0].Kind} encapsulation (UserStack has no tunnels)");
        byte[] payload;
        IpProtocol protocol;
        switch (e)
        {
            case TcpPacketEvent tcp: payload = BuildTcp(tcp); protocol = IpProtocol.Tcp; break;
            case UdpPacketEvent udp: payload = BuildUdp(udp); protocol = IpProtocol.Udp; break;
            case IcmpPacketEvent icmp: payload = BuildIcmp(icmp); protocol = IpProtocol.Icmp; break;
            default: throw new DrillUnsupported(e.GetType().Name);
        }
        var ip = new Ipv4Repr(config.RemoteIp, config.LocalIp, protocol, payload.Length, (byte)(e.Ip?.Ttl ?? 64), 0, Ipv4Flags.DontFragment, 0, TypeOfService(e.Ip));
        host.Inject(Frames.Ipv4(ip, payload, GatewayMac, LocalMac));
    }

    private static byte TypeOfService(IpInfo? ip)
    {
        if (ip is null) return 0;
        int tos = ip.Tos ?? 0;
        return (byte)(ip.Ecn switch { "ect0" => tos | 2, "ect1" => tos | 1, "ce" => tos | 3, _ => tos });
    }

    private byte[] BuildTcp(TcpPacketEvent e)
    {
        var (source, destination) = e.Ports is { } p ? ((ushort)p.Source, (ushort)p.Destination) : (remotePort, LocalPort);
        return Numbers.BuildInbound(e, source, destination, config.RemoteIp, config.LocalIp);
    }

    private byte[] BuildUdp(UdpPacketEvent e)
    {
        var (source, destination) = e.Ports is { } p ? ((ushort)p.Source, (ushort)p.Destination) : (remotePort, LocalPort);
        var datagram = new byte[8 + e.Length];
        BinaryPrimitives.WriteUInt16BigEndian(datagram, source);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), destination);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(4), (ushort)datagram.Length);
        ulong sum = InternetChecksum.AddPseudoHeader(0, config.RemoteIp, config.LocalIp, IpProtocol.Udp, datagram.Length);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(sum, datagram));
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(6), checksum == 0 ? (ushort)0xFFFF : checksum);
        return datagram;
    }

    /// <summary>packetdrill's ICMP names (icmp_packet.c): RFC 792 types and codes.</summary>
    private static (IcmpType Type, byte Code) IcmpNumbers(string type, string? code) => (type, code) switch
    {
        ("echo_reply", _) => (IcmpType.EchoReply, 0),
        ("echo_request", _) => (IcmpType.EchoRequest, 0),
        ("source_quench", _) => (IcmpType.SourceQuench, 0),
        ("unreachable" or "dest_unreachable", var c) => (IcmpType.DestinationUnreachable, c switch
        {
            "net_unreachable" => 0, "host_unreachable" => 1, "protocol_unreachable" => 2, "port_unreachable" => 3,
            "frag_needed" => 4, "source_route_failed" => 5, "net_unknown" => 6, "host_unknown" => 7, "source_host_isolated" => 8,
            "net_prohibited" => 9, "host_prohibited" => 10, "net_unreachable_for_tos" => 11, "host_unreachable_for_tos" => 12,
            "packet_filtered" => 13, "precedence_violation" => 14, "precedence_cutoff" => 15,
            _ => throw new DrillUnsupported($"ICMP unreachable code '{c}'"),
        }),
        ("time_exceeded", var c) => (IcmpType.TimeExceeded, c is "fragment_reassembly_time_exceeded" or "frag_reassembly" ? (byte)1 : (byte)0),
        ("parameter_problem", _) => (IcmpType.ParameterProblem, 0),
        ("packet_too_big", _) => throw new DrillUnsupported("ICMPv6 packet_too_big (UserStack speaks IPv4 only)"),
        _ => throw new DrillUnsupported($"ICMP type '{type}'"),
    };

    /// <summary>An ICMP error from the remote host quoting the IPv4 header and first 8 bytes of what the stack sent (RFC 792).</summary>
    private byte[] BuildIcmp(IcmpPacketEvent e)
    {
        var (type, code) = IcmpNumbers(e.Type, e.Code);
        var quote = e.Quote ?? new IcmpQuote("tcp", 0, 0, 0);
        var quotedHeader = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(quotedHeader, LocalPort);
        BinaryPrimitives.WriteUInt16BigEndian(quotedHeader.AsSpan(2), remotePort);
        var protocol = quote.Protocol == "udp" ? IpProtocol.Udp : IpProtocol.Tcp;
        if (protocol == IpProtocol.Tcp) BinaryPrimitives.WriteUInt32BigEndian(quotedHeader.AsSpan(4), Numbers.LiveLocalIsn + quote.Start);
        else BinaryPrimitives.WriteUInt16BigEndian(quotedHeader.AsSpan(4), (ushort)(8 + quote.Length));
        var quotedIp = new Ipv4Repr(config.LocalIp, config.RemoteIp, protocol, (int)quote.Length + (protocol == IpProtocol.Tcp ? 20 : 8));
        var message = new byte[IcmpPacket.HeaderLength + Ipv4Repr.HeaderLength + 8];
        quotedIp.Write(message.AsSpan(IcmpPacket.HeaderLength));
        quotedHeader.CopyTo(message, IcmpPacket.HeaderLength + Ipv4Repr.HeaderLength);
        new IcmpRepr(type, code, (uint)(e.Mtu ?? 0), Ipv4Repr.HeaderLength + 8).Write(message);
        return message;
    }

    // ---- outbound ------------------------------------------------------------------------------

    /// <summary>Waits, timer by timer, for the stack's next packet until the line's time plus the tolerance, then checks it.</summary>
    private void ExpectOutbound(PacketEvent e, long time, long end)
    {
        if (e.Outer.Count > 0) throw new DrillUnsupported($"{e.Outer[0].Kind} encapsulation (UserStack has no tunnels)");
        long tolerance = ToleranceFor(time, lastEvent is null ? 0 : lastEventUsecs);
        bool range = e.Time.Kind is TimeKind.AbsoluteRange or TimeKind.RelativeRange;
        long latestUsecs = e.Time.Kind == TimeKind.Any ? NowUsecs + 600_000_000 : (range ? end : time) + tolerance;
        var latest = start + TimeSpan.FromTicks(latestUsecs * TimeSpan.TicksPerMicrosecond);
        while (!device.HasPackets)
        {
            Instant next;
            lock (host.Gate) next = host.Stack.NextDeadline;
            if (next > latest) break;
            host.AdvanceTo(next > host.Now ? next : host.Now);
            Settle();
        }
        if (!device.TryTake(out var p))
        {
            AdvanceTo(latest);
            throw new DrillFailure($"expected an outbound packet at {Seconds(time)} sec; none was sent by {Seconds(latestUsecs)} sec");
        }
        switch (e)
        {
            case TcpPacketEvent tcp: VerifyTcp(tcp, CoalesceLikeTso(p, tcp.Length)); break;
            case UdpPacketEvent udp: VerifyUdp(udp, p.Frame); break;
            case IcmpPacketEvent icmp: VerifyIcmp(icmp, p.Frame); break;
        }
        VerifyTime(e, time, end, (p.At - start).Ticks / TimeSpan.TicksPerMicrosecond, "outbound packet");
    }

    /// <summary>
    /// Linux hands packetdrill TSO super-segments (its tun device offers TSO), so public scripts
    /// expect `P. 1:10001(10000)` where UserStack, which has no offload, sends ten segments of
    /// MSS size in the same instant. Like the NIC that would cut them, this joins back-to-back
    /// segments sent at the same time, contiguous in sequence and alike in everything else, while
    /// the line asks for more data than the first carries; flags are OR-ed as GSO keeps PSH and FIN
    /// of the last piece. Each joined segment still had to be valid on its own.
    /// </summary>
    private byte[] CoalesceLikeTso((Instant At, byte[] Frame) first, uint expectedLength)
    {
        var frame = first.Frame;
        while (true)
        {
            var (ip, payload) = ReadIp(frame);
            if (ip.Protocol != IpProtocol.Tcp || !TcpSegment.TryRead(payload, ip.Source, ip.Destination, out var seg, out _)) return frame;
            if (seg.Payload.Length >= expectedLength || (seg.Flags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) != 0) return frame;
            if (!device.TryPeek(out var next) || next.At != first.At) return frame;
            var (nextIp, nextPayload) = ReadIp(next.Frame);
            if (nextIp.Protocol != IpProtocol.Tcp || !TcpSegment.TryRead(nextPayload, nextIp.Source, nextIp.Destination, out var nextSeg, out _)) return frame;
            bool contiguous = nextSeg.Sequence.Value == seg.Sequence.Value + (uint)seg.Payload.Length
                && nextSeg.Acknowledgment.Value == seg.Acknowledgment.Value && nextSeg.Window == seg.Window
                && nextSeg.SourcePort == seg.SourcePort && nextSeg.DestinationPort == seg.DestinationPort
                && nextSeg.OptionBytes.Length == seg.OptionBytes.Length && nextSeg.Payload.Length > 0
                && ((nextSeg.Flags ^ seg.Flags) & ~(TcpFlags.Psh | TcpFlags.Fin)) == 0;
            if (!contiguous) return frame;
            device.TryTake(out _);
            frame = Join(frame, ip, seg.HeaderLength, payload, nextSeg.Flags, nextSeg.Payload.ToArray());
        }
    }

    private byte[] Join(byte[] frame, Ipv4Repr ip, int tcpHeaderLength, byte[] segment, TcpFlags lastFlags, byte[] morePayload)
    {
        var joined = new byte[segment.Length + morePayload.Length];
        segment.CopyTo(joined, 0);
        morePayload.CopyTo(joined, segment.Length);
        joined[13] |= (byte)(lastFlags & (TcpFlags.Psh | TcpFlags.Fin));
        joined[16] = joined[17] = 0;
        ulong sum = InternetChecksum.AddPseudoHeader(0, ip.Source, ip.Destination, IpProtocol.Tcp, joined.Length);
        BinaryPrimitives.WriteUInt16BigEndian(joined.AsSpan(16), InternetChecksum.Finish(InternetChecksum.Add(sum, joined)));
        return Frames.Ipv4(ip with { PayloadLength = joined.Length }, joined, MacAddress.Read(frame.AsSpan(6)), MacAddress.Read(frame));
    }

    private static (Ipv4Repr Ip, byte[] Payload) ReadIp(byte[] frame)
    {
        if (!Ipv4Packet.TryRead(frame.AsSpan(EthernetFrame.HeaderLength), out var ip, out var why))
            throw new DrillFailure($"the stack sent a bad IPv4 packet: {why}");
        return (ip.ToRepr(), ip.Payload.ToArray());
    }

    private void VerifyIp(PacketEvent e, Ipv4Repr ip, IpProtocol protocol, List<string> problems)
    {
        if (ip.Protocol != protocol) throw new DrillFailure($"expected {protocol}, the stack sent {ip.Protocol}: {Describe(ip, [])}");
        if (ip.Destination != config.RemoteIp) problems.Add($"sent to {ip.Destination} instead of {config.RemoteIp}");
        if (e.Ip is not { } info) return;
        if (info.Ttl is { } ttl && ip.TimeToLive != ttl) problems.Add($"ttl {ip.TimeToLive} instead of {ttl}");
        int ecn = ip.TypeOfService & 3;
        string? ecnProblem = info.Ecn switch
        {
            "noecn" when ecn != 0 => "ECN field set, expected not-ECT",
            "ect0" when ecn != 2 => $"ECN field {ecn}, expected ECT(0)",
            "ect1" when ecn != 1 => $"ECN field {ecn}, expected ECT(1)",
            "ce" when ecn != 3 => $"ECN field {ecn}, expected CE",
            "ect01" when ecn is not (1 or 2) => $"ECN field {ecn}, expected ECT(0) or ECT(1)",
            _ => null,
        };
        if (ecnProblem is not null) problems.Add(ecnProblem);
        if (info.Tos is { } tos && ip.TypeOfService != tos) problems.Add($"tos 0x{ip.TypeOfService:x2} instead of 0x{tos:x2}");
    }

    private void VerifyTcp(TcpPacketEvent e, byte[] frame)
    {
        var (ip, payload) = ReadIp(frame);
        var problems = new List<string>();
        VerifyIp(e, ip, IpProtocol.Tcp, problems);
        if (!TcpSegment.TryRead(payload, ip.Source, ip.Destination, out var seg, out var why))
            throw new DrillFailure($"the stack sent a bad TCP segment: {why}");
        var flags = TcpNumbering.FlagsOf(e);
        bool syn = (seg.Flags & TcpFlags.Syn) != 0;
        if (syn && (seg.Flags & TcpFlags.Ack) == 0)
        {
            localPort = seg.SourcePort; // an active open: the stack picked its port
            remotePort = seg.DestinationPort;
        }
        Numbers.LearnOutbound(seg.Flags, seg.Sequence.Value, e);
        if (seg.SourcePort != LocalPort || seg.DestinationPort != remotePort)
            problems.Add($"ports {seg.SourcePort} > {seg.DestinationPort} instead of {LocalPort} > {remotePort}");
        var pshMask = relax.Contains("psh") ? ~TcpFlags.Psh : ~TcpFlags.None;
        if ((seg.Flags & pshMask) != (flags & pshMask)) problems.Add($"flags {FlagText(seg.Flags)} instead of {FlagText(flags)}");
        if (!Numbers.SequenceMatches(seg.Flags, seg.Sequence.Value, e)) problems.Add($"seq {Numbers.SeqInScript(seg.Flags, seg.Sequence.Value)} instead of {e.Start}");
        if (!Numbers.AckMatches(seg.Flags, seg.Acknowledgment.Value, flags, e))
            problems.Add($"ack {Numbers.AckInScript(seg.Flags, seg.Acknowledgment.Value)} instead of {e.Ack ?? 0}");
        if (e.Window is { } win && seg.Window != win && !relax.Contains("win")) problems.Add($"win {seg.Window} instead of {win}");
        if (seg.UrgentPointer != (e.Urgent ?? 0)) problems.Add($"urg {seg.UrgentPointer} instead of {e.Urgent ?? 0}");
        if (seg.Payload.Length != e.Length) problems.Add($"{seg.Payload.Length} bytes of data instead of {e.Length}");
        else if (seg.Payload.IndexOfAnyExcept((byte)0) >= 0) problems.Add("incorrect outbound data payload (the script's writes are zeros)");
        if (e.Options is { } expected) Numbers.CompareOptions(expected, seg.OptionBytes, syn, problems);
        if (problems.Count > 0) throw new DrillFailure($"{string.Join("; ", problems)}: the stack sent {Describe(ip, payload)}");
    }

    private void VerifyUdp(UdpPacketEvent e, byte[] frame)
    {
        var (ip, payload) = ReadIp(frame);
        var problems = new List<string>();
        VerifyIp(e, ip, IpProtocol.Udp, problems);
        if (payload.Length < 8) throw new DrillFailure("the stack sent a truncated UDP datagram");
        if (payload.Length - 8 != e.Length) problems.Add($"{payload.Length - 8} bytes of data instead of {e.Length}");
        if (problems.Count > 0) throw new DrillFailure(string.Join("; ", problems));
    }

    private void VerifyIcmp(IcmpPacketEvent e, byte[] frame)
    {
        var (ip, payload) = ReadIp(frame);
        var problems = new List<string>();
        VerifyIp(e, ip, IpProtocol.Icmp, problems);
        var (type, code) = IcmpNumbers(e.Type, e.Code);
        if (payload.Length < 8) throw new DrillFailure("the stack sent a truncated ICMP message");
        if (payload[0] != (byte)type || (e.Code is not null && payload[1] != code))
            problems.Add($"ICMP type {payload[0]} code {payload[1]} instead of {(byte)type} code {code}");
        if (problems.Count > 0) throw new DrillFailure(string.Join("; ", problems));
    }

    // ---- describing what the stack sent, in the script's own terms ------------------------------

    private string Describe(byte[] frame)
    {
        try
        {
            var (ip, payload) = ReadIp(frame);
            return Describe(ip, payload);
        }
        catch (DrillFailure f) { return f.Message; }
    }

    private string Describe(Ipv4Repr ip, byte[] payload)
    {
        if (ip.Protocol == IpProtocol.Tcp && TcpSegment.TryRead(payload, ip.Source, ip.Destination, out var s, out _))
        {
            return Numbers.Describe(s);
        }
        if (ip.Protocol == IpProtocol.Udp) return $"> udp ({payload.Length - 8})";
        if (ip.Protocol == IpProtocol.Icmp && payload.Length >= 2) return $"> icmp type {payload[0]} code {payload[1]}";
        return $"> IPv4 protocol {(byte)ip.Protocol}, {payload.Length} bytes";
    }

    internal static string FlagText(TcpFlags f) => TcpNumbering.FlagText(f);
}
