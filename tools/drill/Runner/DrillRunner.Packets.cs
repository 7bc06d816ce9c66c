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
    private uint remoteIsn;                 // the remote side's ISN: an inbound SYN's number as written
    private bool remoteIsnKnown;
    private bool activeSynSent;             // our SYN is out and no SYN-ACK has answered it (SOCKET_ACTIVE_SYN_SENT)
    private uint liveLocalIsn, scriptLocalIsn; // the stack's ISN, and the number the script gave its SYN
    private readonly Dictionary<uint, uint> tsValues = new(); // script TS val on a `>` line -> the TS val really sent
    private (uint Script, uint Live)? firstTsVal;

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

    private static TcpFlags FlagsOf(TcpPacketEvent e)
    {
        if (e.Ace is not null) throw new DrillUnsupported($"AccECN ACE flags '{e.Flags}.{e.Ace}' (UserStack has no AccECN)");
        var flags = TcpFlags.None;
        foreach (var c in e.Flags)
            flags |= c switch
            {
                'S' => TcpFlags.Syn, 'F' => TcpFlags.Fin, 'R' => TcpFlags.Rst, 'P' => TcpFlags.Psh, '.' => TcpFlags.Ack,
                'U' => TcpFlags.Urg, 'E' => TcpFlags.Ece, 'W' => TcpFlags.Cwr,
                _ => throw new DrillUnsupported($"TCP flag '{c}' (the AE bit of AccECN)"),
            };
        return flags;
    }

    private byte[] BuildTcp(TcpPacketEvent e)
    {
        var flags = FlagsOf(e);
        bool syn = (flags & TcpFlags.Syn) != 0;
        // The remote ISN is the first SYN's number, or that of the SYN-ACK answering our active open
        // (do_inbound_script_packet: only in SOCKET_ACTIVE_SYN_SENT; a later SYN-ACK, e.g. one sent
        // into TIME-WAIT, moves nothing); SYNs carry their number as written.
        bool synAck = syn && (flags & TcpFlags.Ack) != 0;
        if (syn && (!remoteIsnKnown || (synAck && activeSynSent))) { remoteIsn = e.Start; remoteIsnKnown = true; }
        if (synAck) activeSynSent = false;
        uint seq = syn ? e.Start : remoteIsn + e.Start;
        uint ackOffset = syn ? liveLocalIsn - scriptLocalIsn : liveLocalIsn;
        uint ack = (flags & TcpFlags.Ack) != 0 ? ackOffset + (e.Ack ?? 0) : e.Ack ?? 0;
        if (e.Window is null) throw new DrillFailure("window must be specified for inbound packets");
        if (e.Window > ushort.MaxValue) throw new DrillFailure($"window {e.Window} does not fit in 16 bits");
        var options = OptionBytes(e.Options ?? [], (flags & TcpFlags.Ack) != 0, ackOffset);
        var (source, destination) = e.Ports is { } p ? ((ushort)p.Source, (ushort)p.Destination) : (remotePort, LocalPort);
        var segment = new byte[20 + options.Length + e.Length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, source);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), destination);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(8), ack);
        segment[12] = (byte)((20 + options.Length) / 4 << 4);
        segment[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(14), (ushort)e.Window.Value);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(18), (ushort)(e.Urgent ?? 0));
        options.CopyTo(segment, 20);
        ulong sum = InternetChecksum.AddPseudoHeader(0, config.RemoteIp, config.LocalIp, IpProtocol.Tcp, segment.Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(16), InternetChecksum.Finish(InternetChecksum.Add(sum, segment)));
        return segment;
    }

    /// <summary>
    /// The option bytes exactly as the line lists them (packetdrill sends what it is told, in that
    /// order): sack edges moved into the stack's sequence space, a TS ecr mapped to the TS val the
    /// stack really sent on the `&gt;` line that named it.
    /// </summary>
    private byte[] OptionBytes(IReadOnlyList<TcpOptionSpec> specs, bool ack, uint ackOffset)
    {
        var bytes = new List<byte>();
        foreach (var o in specs)
        {
            switch (o.Kind)
            {
                case "nop": bytes.Add(1); break;
                case "eol": bytes.Add(0); break;
                case "mss": bytes.AddRange([2, 4, (byte)(o.Values[0] >> 8), (byte)o.Values[0]]); break;
                case "wscale": bytes.AddRange([3, 3, (byte)o.Values[0]]); break;
                case "sackOK": bytes.AddRange([4, 2]); break;
                case "sack":
                    bytes.AddRange([5, (byte)(2 + 4 * o.Values.Count)]);
                    foreach (var edge in o.Values) bytes.AddRange(BigEndian((uint)edge + ackOffset));
                    break;
                case "TS":
                    bytes.AddRange([8, 10]);
                    bytes.AddRange(BigEndian((uint)o.Values[0]));
                    bytes.AddRange(BigEndian(ack ? LiveEcr((uint)o.Values[1]) : (uint)o.Values[1]));
                    break;
                case "md5" or "FO" or "FOEXP" when o.Blob is { } blob && !blob.All(char.IsAsciiHexDigit):
                    throw new DrillUnsupported($"{o.Kind} value '{blob}' (not hex: an undefined -D symbol?)");
                case "md5":
                    var digest = Convert.FromHexString(o.Blob!.PadLeft(32, '0'));
                    bytes.AddRange([19, (byte)(2 + digest.Length)]);
                    bytes.AddRange(digest);
                    break;
                case "FO" or "FOEXP":
                    var cookie = o.Blob is null ? [] : Convert.FromHexString(o.Blob.Length % 2 == 0 ? o.Blob : "0" + o.Blob);
                    if (o.Kind == "FO") bytes.AddRange([34, (byte)(2 + cookie.Length)]);
                    else bytes.AddRange([254, (byte)(4 + cookie.Length), 0xF9, 0x89]);
                    bytes.AddRange(cookie);
                    break;
                default: throw new DrillUnsupported($"TCP option {o.Kind}");
            }
        }
        if (bytes.Count % 4 != 0) throw new DrillFailure($"TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: {bytes.Count % 4} excess bytes");
        if (bytes.Count > 40) throw new DrillFailure("TCP header too large");
        return bytes.ToArray();
    }

    private static byte[] BigEndian(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    /// <summary>map_inbound_packet: a TS ecr names a TS val of a `&gt;` line; otherwise scaled from the first one (--tcp_ts_ecr_scaled) or an error.</summary>
    private uint LiveEcr(uint scriptEcr)
    {
        if (tsValues.TryGetValue(scriptEcr, out var live)) return live;
        if (config.TsEcrScaled && firstTsVal is var (s, l)) return scriptEcr - s + l;
        if (scriptEcr == 0) return 0;
        throw new DrillFailure($"unable to infer live TS ecr for script TS ecr {scriptEcr}; no matching or preceding outbound TS val");
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
        if (protocol == IpProtocol.Tcp) BinaryPrimitives.WriteUInt32BigEndian(quotedHeader.AsSpan(4), liveLocalIsn + quote.Start);
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
            StepTo(next);
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
        var flags = FlagsOf(e);
        bool syn = (seg.Flags & TcpFlags.Syn) != 0;
        if (syn && (seg.Flags & TcpFlags.Ack) == 0)
        {
            localPort = seg.SourcePort; // an active open: the stack picked its port
            remotePort = seg.DestinationPort;
            activeSynSent = true;
        }
        if (syn)
        {
            liveLocalIsn = seg.Sequence.Value;
            scriptLocalIsn = e.Start;
        }
        if (seg.SourcePort != LocalPort || seg.DestinationPort != remotePort)
            problems.Add($"ports {seg.SourcePort} > {seg.DestinationPort} instead of {LocalPort} > {remotePort}");
        var pshMask = relax.Contains("psh") ? ~TcpFlags.Psh : ~TcpFlags.None;
        if ((seg.Flags & pshMask) != (flags & pshMask)) problems.Add($"flags {FlagText(seg.Flags)} instead of {FlagText(flags)}");
        uint liveSeq = seg.Sequence.Value;
        uint seqInScript = syn ? liveSeq - (liveLocalIsn - scriptLocalIsn) : liveSeq - liveLocalIsn;
        bool rstToNoAck = (seg.Flags & TcpFlags.Rst) != 0 && liveSeq == 0 && e.Start == 0; // RFC 9293 3.10.7.1: SEQ=0
        if (!e.AnySequence && seqInScript != e.Start && !rstToNoAck) problems.Add($"seq {seqInScript} instead of {e.Start}");
        uint expectedAck = e.Ack ?? 0;
        uint ackInScript = (seg.Flags & TcpFlags.Ack) != 0 ? seg.Acknowledgment.Value - (syn ? 0 : remoteIsn) : seg.Acknowledgment.Value;
        if ((flags & TcpFlags.Ack) != 0 || (seg.Flags & TcpFlags.Ack) == 0)
            if (ackInScript != expectedAck) problems.Add($"ack {ackInScript} instead of {expectedAck}");
        if (e.Window is { } win && seg.Window != win && !relax.Contains("win")) problems.Add($"win {seg.Window} instead of {win}");
        if (seg.UrgentPointer != (e.Urgent ?? 0)) problems.Add($"urg {seg.UrgentPointer} instead of {e.Urgent ?? 0}");
        if (seg.Payload.Length != e.Length) problems.Add($"{seg.Payload.Length} bytes of data instead of {e.Length}");
        else if (seg.Payload.IndexOfAnyExcept((byte)0) >= 0) problems.Add("incorrect outbound data payload (the script's writes are zeros)");
        if (e.Options is { } expected) CompareOptions(expected, seg.OptionBytes, syn, problems);
        if (problems.Count > 0) throw new DrillFailure($"{string.Join("; ", problems)}: the stack sent {Describe(ip, payload)}");
    }

    /// <summary>
    /// verify_outbound_live_tcp_options: the same options in the same order (nop and eol included);
    /// values equal, sack edges relative to the remote ISN; TS val checked only with
    /// --tcp_ts_tick_usecs; TS ecr compared (stricter than packetdrill, which skips it).
    /// </summary>
    private void CompareOptions(IReadOnlyList<TcpOptionSpec> expected, ReadOnlySpan<byte> bytes, bool syn, List<string> problems)
    {
        var actual = ParseOptions(bytes);
        if (relax.Contains("options"))
        {
            // Compare what the options say, not how they are laid out: padding dropped, kinds in one order.
            actual = actual.Where(o => o.Kind > 1).OrderBy(o => o.Kind).ToList();
            expected = expected.Where(o => o.Kind is not ("nop" or "eol")).OrderBy(o => KindOf(o.Kind)).ToList();
        }
        if (actual.Count != expected.Count || actual.Zip(expected).Any(p => p.First.Kind != KindOf(p.Second.Kind)))
        {
            problems.Add($"bad outbound TCP options: {DescribeOptions(bytes)} instead of <{string.Join(",", expected.Select(Text))}>");
            return;
        }
        for (int i = 0; i < expected.Count; i++)
        {
            var (kind, data) = actual[i];
            var want = expected[i];
            switch (want.Kind)
            {
                case "mss" when data.Length == 2 && BinaryPrimitives.ReadUInt16BigEndian(data) != want.Values[0]:
                    problems.Add($"mss {BinaryPrimitives.ReadUInt16BigEndian(data)} instead of {want.Values[0]}"); break;
                case "wscale" when data.Length == 1 && data[0] != want.Values[0] && !relax.Contains("wscale"):
                    problems.Add($"wscale {data[0]} instead of {want.Values[0]}"); break;
                case "sack":
                    var edges = Enumerable.Range(0, data.Length / 4).Select(k => BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4 * k)) - (syn ? 0 : remoteIsn)).ToList();
                    if (!edges.SequenceEqual(want.Values.Select(v => (uint)v)))
                        problems.Add($"sack {SackText(edges)} instead of sack {SackText(want.Values.Select(v => (uint)v).ToList())}");
                    break;
                case "TS" when data.Length == 8:
                    uint val = BinaryPrimitives.ReadUInt32BigEndian(data), ecr = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4));
                    tsValues[(uint)want.Values[0]] = val;
                    firstTsVal ??= ((uint)want.Values[0], val);
                    if (config.TsTickUsecs > 0)
                    {
                        uint inScript = firstTsVal.Value.Script + (val - firstTsVal.Value.Live);
                        if (Math.Abs((int)(inScript - (uint)want.Values[0])) * config.TsTickUsecs > config.ToleranceUsecs)
                            problems.Add($"TS val {inScript} instead of {want.Values[0]} (tick {config.TsTickUsecs} us)");
                    }
                    if (ecr != (uint)want.Values[1]) problems.Add($"TS ecr {ecr} instead of {want.Values[1]}");
                    break;
                case "md5" or "FO" or "FOEXP":
                    problems.Add($"option {want.Kind} sent by UserStack, which does not implement it"); break;
            }
        }
    }

    private static byte KindOf(string kind) => kind switch
    {
        "eol" => 0, "nop" => 1, "mss" => 2, "wscale" => 3, "sackOK" => 4, "sack" => 5, "TS" => 8, "md5" => 19, "FO" => 34, "FOEXP" => 254, _ => 255,
    };

    private static string Text(TcpOptionSpec o) => o.Kind switch
    {
        "TS" => $"TS val {o.Values[0]} ecr {o.Values[1]}",
        "sack" => $"sack {SackText(o.Values.Select(v => (uint)v).ToList())}",
        _ => o.Values.Count > 0 ? $"{o.Kind} {string.Join(' ', o.Values)}" : o.Blob is { } b ? $"{o.Kind} {b}" : o.Kind,
    };

    private static string SackText(List<uint> edges) =>
        string.Join(' ', Enumerable.Range(0, edges.Count / 2).Select(k => $"{edges[2 * k]}:{edges[2 * k + 1]}"));

    private static List<(byte Kind, byte[] Data)> ParseOptions(ReadOnlySpan<byte> bytes)
    {
        var list = new List<(byte, byte[])>();
        for (int i = 0; i < bytes.Length;)
        {
            byte kind = bytes[i];
            if (kind is 0 or 1) { list.Add((kind, [])); i++; if (kind == 0) break; continue; }
            int length = i + 1 < bytes.Length ? bytes[i + 1] : 0;
            if (length < 2 || i + length > bytes.Length) { list.Add((kind, [])); break; }
            list.Add((kind, bytes.Slice(i + 2, length - 2).ToArray()));
            i += length;
        }
        return list;
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
            bool syn = (s.Flags & TcpFlags.Syn) != 0;
            uint seq = s.Sequence.Value - (syn ? liveLocalIsn - scriptLocalIsn : liveLocalIsn);
            var ack = (s.Flags & TcpFlags.Ack) != 0 ? $" ack {s.Acknowledgment.Value - (syn ? 0 : remoteIsn)}" : "";
            var options = s.OptionBytes.Length > 0 ? " " + DescribeOptions(s.OptionBytes) : "";
            return $"> {FlagText(s.Flags)} {seq}:{seq + (uint)s.Payload.Length}({s.Payload.Length}){ack} win {s.Window}{options}";
        }
        if (ip.Protocol == IpProtocol.Udp) return $"> udp ({payload.Length - 8})";
        if (ip.Protocol == IpProtocol.Icmp && payload.Length >= 2) return $"> icmp type {payload[0]} code {payload[1]}";
        return $"> IPv4 protocol {(byte)ip.Protocol}, {payload.Length} bytes";
    }

    /// <summary>Option bytes in packetdrill's form and wire order, sack edges relative to the remote ISN.</summary>
    private string DescribeOptions(ReadOnlySpan<byte> bytes)
    {
        var parts = new List<string>();
        foreach (var (kind, data) in ParseOptions(bytes))
            parts.Add(kind switch
            {
                0 => "eol",
                1 => "nop",
                2 when data.Length == 2 => $"mss {BinaryPrimitives.ReadUInt16BigEndian(data)}",
                3 when data.Length == 1 => $"wscale {data[0]}",
                4 => "sackOK",
                5 => "sack " + SackText(Enumerable.Range(0, data.Length / 4).Select(k => BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4 * k)) - remoteIsn).ToList()),
                8 when data.Length == 8 => $"TS val {BinaryPrimitives.ReadUInt32BigEndian(data)} ecr {BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4))}",
                _ => $"option {kind} length {data.Length + 2}",
            });
        return $"<{string.Join(",", parts)}>";
    }

    /// <summary>Flags as packetdrill writes them: S F R P . then U E W.</summary>
    internal static string FlagText(TcpFlags f)
    {
        var sb = new StringBuilder();
        if ((f & TcpFlags.Syn) != 0) sb.Append('S');
        if ((f & TcpFlags.Fin) != 0) sb.Append('F');
        if ((f & TcpFlags.Rst) != 0) sb.Append('R');
        if ((f & TcpFlags.Psh) != 0) sb.Append('P');
        if ((f & TcpFlags.Ack) != 0) sb.Append('.');
        if ((f & TcpFlags.Urg) != 0) sb.Append('U');
        if ((f & TcpFlags.Ece) != 0) sb.Append('E');
        if ((f & TcpFlags.Cwr) != 0) sb.Append('W');
        return sb.Length == 0 ? "-" : sb.ToString();
    }
}
