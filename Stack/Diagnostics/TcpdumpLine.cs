using System.Buffers.Binary;
using System.Text;
using UserStack.Wire;

namespace UserStack.Diagnostics;

/// <summary>What a frame is, for filters: its protocol and, for IP, its addresses and ports.</summary>
public readonly record struct FrameSummary(string Text, string Protocol, Ipv4Address? Source = null, Ipv4Address? Destination = null, ushort SourcePort = 0, ushort DestinationPort = 0);

/// <summary>
/// Decodes a frame with the stack's own wire parsers into one line in `tcpdump -n`'s form:
/// `IP 10.0.0.1.40000 > 10.0.0.2.7: Flags [S.], seq 0, ack 1, win 65535, options [...], length 0`.
/// Sequence numbers are relative per direction of a connection, as tcpdump shows them: the first
/// sequence number seen in a direction (a SYN's always) counts as 0. Not thread-safe: one per trace.
/// </summary>
public sealed class TcpdumpLine
{
    private readonly Dictionary<(Ipv4Address, ushort, Ipv4Address, ushort), uint> initial = new();

    public FrameSummary Describe(ReadOnlySpan<byte> frame)
    {
        if (!EthernetFrame.TryRead(frame, out var eth, out var why)) return new($"truncated frame ({why}), length {frame.Length}", "ether");
        return eth.EtherType switch
        {
            EtherType.Arp => Arp(eth.Payload),
            EtherType.Ipv4 => Ip(eth.Payload),
            (EtherType)0x86DD => new($"IP6, length {eth.Payload.Length}", "ip6"), // not ours to decode: we speak IPv4
            _ => new($"ethertype 0x{(ushort)eth.EtherType:x4}, length {frame.Length}", "ether"),
        };
    }

    private static FrameSummary Arp(ReadOnlySpan<byte> bytes)
    {
        if (!ArpPacket.TryRead(bytes, out var arp, out var why)) return new($"ARP, malformed ({why})", "arp");
        string text = arp.Operation switch
        {
            ArpOperation.Request when arp.SenderProtocolAddress == arp.TargetProtocolAddress => $"ARP, Announcement, {arp.SenderProtocolAddress} is-at {arp.SenderHardwareAddress}, length {ArpPacket.Length}",
            ArpOperation.Request => $"ARP, Request who-has {arp.TargetProtocolAddress} tell {arp.SenderProtocolAddress}, length {ArpPacket.Length}",
            ArpOperation.Reply => $"ARP, Reply {arp.SenderProtocolAddress} is-at {arp.SenderHardwareAddress}, length {ArpPacket.Length}",
            _ => $"ARP, operation {(ushort)arp.Operation}, length {ArpPacket.Length}",
        };
        return new(text, "arp", arp.SenderProtocolAddress, arp.TargetProtocolAddress);
    }

    private FrameSummary Ip(ReadOnlySpan<byte> bytes)
    {
        if (!Ipv4Packet.TryRead(bytes, out var ip, out var why)) return new($"IP, malformed ({why}), length {bytes.Length}", "ip");
        var (src, dst) = (ip.Source, ip.Destination);
        if (ip.IsFragment)
            return new($"IP {src} > {dst}: {ProtocolName(ip.Protocol)} (frag {ip.Identification}:{ip.Payload.Length}@{ip.FragmentOffset}{((ip.Flags & Ipv4Flags.MoreFragments) != 0 ? "+" : "")})",
                ProtocolName(ip.Protocol), src, dst);
        return ip.Protocol switch
        {
            IpProtocol.Tcp => Tcp(ip.Payload, src, dst),
            IpProtocol.Udp => Udp(ip.Payload, src, dst),
            IpProtocol.Icmp => Icmp(ip.Payload, src, dst),
            _ => new($"IP {src} > {dst}: ip-proto-{(byte)ip.Protocol} {ip.Payload.Length}", "ip", src, dst),
        };
    }

    private static string ProtocolName(IpProtocol p) => p switch { IpProtocol.Tcp => "tcp", IpProtocol.Udp => "udp", IpProtocol.Icmp => "icmp", _ => "ip" };

    private static FrameSummary Udp(ReadOnlySpan<byte> bytes, Ipv4Address src, Ipv4Address dst)
    {
        if (!UdpDatagram.TryRead(bytes, src, dst, out var udp, out var why))
        {
            var (sp, dp) = RawPorts(bytes);
            return new($"IP {src}.{sp} > {dst}.{dp}: UDP, {Bad(why)}, length {Math.Max(0, bytes.Length - UdpDatagram.HeaderLength)}", "udp", src, dst, sp, dp);
        }
        return new($"IP {src}.{udp.SourcePort} > {dst}.{udp.DestinationPort}: UDP, length {udp.Payload.Length}", "udp", src, dst, udp.SourcePort, udp.DestinationPort);
    }

    private static FrameSummary Icmp(ReadOnlySpan<byte> bytes, Ipv4Address src, Ipv4Address dst)
    {
        if (!IcmpPacket.TryRead(bytes, out var icmp, out var why)) return new($"IP {src} > {dst}: ICMP, {Bad(why)}, length {bytes.Length}", "icmp", src, dst);
        string what = icmp.Type switch
        {
            IcmpType.EchoRequest => $"echo request, id {icmp.Identifier}, seq {icmp.SequenceNumber}",
            IcmpType.EchoReply => $"echo reply, id {icmp.Identifier}, seq {icmp.SequenceNumber}",
            IcmpType.DestinationUnreachable => Unreachable(icmp),
            IcmpType.TimeExceeded => icmp.Code == 0 ? "time exceeded in-transit" : "ip reassembly time exceeded",
            IcmpType.ParameterProblem => "parameter problem",
            IcmpType.SourceQuench => "source quench",
            IcmpType.Redirect => "redirect",
            _ => $"type {(byte)icmp.Type}, code {icmp.Code}",
        };
        return new($"IP {src} > {dst}: ICMP {what}, length {bytes.Length}", "icmp", src, dst);
    }

    /// <summary>tcpdump's wording; for a port unreachable, the quoted datagram names the port.</summary>
    private static string Unreachable(IcmpPacket icmp)
    {
        var quoted = icmp.Payload;
        if (icmp.Code == 3 && quoted.Length >= 28 && (quoted[0] >> 4) == 4)
        {
            int ihl = (quoted[0] & 0xF) * 4;
            if (quoted.Length >= ihl + 4)
            {
                var to = Ipv4Address.Read(quoted[16..]);
                ushort port = BinaryPrimitives.ReadUInt16BigEndian(quoted[(ihl + 2)..]);
                return $"{to} {ProtocolName((IpProtocol)quoted[9])} port {port} unreachable";
            }
        }
        return icmp.Code switch
        {
            0 => "net unreachable",
            1 => "host unreachable",
            2 => "protocol unreachable",
            3 => "port unreachable",
            4 => "unreachable - need to frag",
            _ => $"unreachable code {icmp.Code}",
        };
    }

    private FrameSummary Tcp(ReadOnlySpan<byte> bytes, Ipv4Address src, Ipv4Address dst)
    {
        if (!TcpSegment.TryRead(bytes, src, dst, out var seg, out var why))
        {
            var (sp, dp) = RawPorts(bytes);
            return new($"IP {src}.{sp} > {dst}.{dp}: tcp, {Bad(why)}, length {bytes.Length}", "tcp", src, dst, sp, dp);
        }
        var flags = seg.Flags;
        var key = (src, seg.SourcePort, dst, seg.DestinationPort);
        uint seq = seg.Sequence.Value;
        if ((flags & TcpFlags.Syn) != 0 || !initial.ContainsKey(key)) initial[key] = seq;
        uint ours = initial[key];
        bool peerKnown = initial.TryGetValue((dst, seg.DestinationPort, src, seg.SourcePort), out uint theirs);

        var b = new StringBuilder(128);
        b.Append("IP ").Append(src).Append('.').Append(seg.SourcePort).Append(" > ").Append(dst).Append('.').Append(seg.DestinationPort);
        b.Append(": Flags [").Append(FlagLetters(flags)).Append(']');
        int length = seg.Payload.Length;
        if (length > 0 || (flags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) != 0)
        {
            uint rel = seq - ours;
            b.Append(", seq ").Append(rel);
            if (length > 0) b.Append(':').Append(rel + (uint)length);
        }
        if ((flags & TcpFlags.Ack) != 0) b.Append(", ack ").Append(seg.Acknowledgment.Value - (peerKnown ? theirs : 0));
        b.Append(", win ").Append(seg.Window);
        if ((flags & TcpFlags.Urg) != 0) b.Append(", urg ").Append(seg.UrgentPointer);
        if (seg.OptionBytes.Length > 0) { b.Append(", options ["); Options(b, seg.OptionBytes, peerKnown ? theirs : 0); b.Append(']'); }
        b.Append(", length ").Append(length);
        return new(b.ToString(), "tcp", src, dst, seg.SourcePort, seg.DestinationPort);
    }

    /// <summary>tcpdump's letters, in its order: F S R P . (ACK) U E W.</summary>
    public static string FlagLetters(TcpFlags flags)
    {
        Span<char> c = stackalloc char[8];
        int n = 0;
        if ((flags & TcpFlags.Fin) != 0) c[n++] = 'F';
        if ((flags & TcpFlags.Syn) != 0) c[n++] = 'S';
        if ((flags & TcpFlags.Rst) != 0) c[n++] = 'R';
        if ((flags & TcpFlags.Psh) != 0) c[n++] = 'P';
        if ((flags & TcpFlags.Ack) != 0) c[n++] = '.';
        if ((flags & TcpFlags.Urg) != 0) c[n++] = 'U';
        if ((flags & TcpFlags.Ece) != 0) c[n++] = 'E';
        if ((flags & TcpFlags.Cwr) != 0) c[n++] = 'W';
        return n == 0 ? "none" : new string(c[..n]);
    }

    /// <summary>The options in wire order (TcpSegment.TryRead already checked every length). SACK edges are relative to the peer's first sequence number.</summary>
    private static void Options(StringBuilder b, ReadOnlySpan<byte> o, uint sackBase)
    {
        bool first = true;
        for (int i = 0; i < o.Length;)
        {
            var kind = (TcpOptionKind)o[i];
            if (!first) b.Append(',');
            first = false;
            if (kind == TcpOptionKind.EndOfList) { b.Append("eol"); break; }
            if (kind == TcpOptionKind.NoOperation) { b.Append("nop"); i++; continue; }
            int len = o[i + 1];
            var v = o.Slice(i + 2, len - 2);
            switch (kind)
            {
                case TcpOptionKind.MaximumSegmentSize: b.Append("mss ").Append(BinaryPrimitives.ReadUInt16BigEndian(v)); break;
                case TcpOptionKind.WindowScale: b.Append("wscale ").Append(v[0]); break;
                case TcpOptionKind.SackPermitted: b.Append("sackOK"); break;
                case TcpOptionKind.Timestamps:
                    b.Append("TS val ").Append(BinaryPrimitives.ReadUInt32BigEndian(v)).Append(" ecr ").Append(BinaryPrimitives.ReadUInt32BigEndian(v[4..]));
                    break;
                case TcpOptionKind.Sack:
                    b.Append("sack ").Append(v.Length / 8);
                    for (int k = 0; k + 8 <= v.Length; k += 8)
                        b.Append(" {").Append(BinaryPrimitives.ReadUInt32BigEndian(v[k..]) - sackBase).Append(':').Append(BinaryPrimitives.ReadUInt32BigEndian(v[(k + 4)..]) - sackBase).Append('}');
                    break;
                default: b.Append("unknown-").Append((byte)kind); break;
            }
            i += len;
        }
    }

    private static (ushort, ushort) RawPorts(ReadOnlySpan<byte> l4) =>
        l4.Length >= 4 ? (BinaryPrimitives.ReadUInt16BigEndian(l4), BinaryPrimitives.ReadUInt16BigEndian(l4[2..])) : ((ushort)0, (ushort)0);

    private static string Bad(DropReason why) => why switch
    {
        DropReason.TcpBadChecksum or DropReason.UdpBadChecksum or DropReason.IcmpBadChecksum => $"bad cksum ({why})",
        _ => $"malformed ({why})",
    };
}
