using System.Buffers.Binary;
using System.Text;
using UserStack.Drill.Language;
using UserStack.Wire;

namespace UserStack.Drill;

/// <summary>
/// packetdrill's mapping between a script's TCP numbers and the live ones (run_packet.c), for one
/// run: the remote ISN is an inbound SYN's number as written (the first SYN's, or a SYN-ACK's), and
/// later inbound segments count from it; the stack's ISN is learned once, from its first SYN or SYN-ACK; sack
/// edges are relative to the ISN of the side whose data they cover; a `&lt;` line's TS ecr becomes
/// the TS val the stack really sent on the `&gt;` line that named it. Options are built and compared
/// in wire order. Public so that another runner (the differential mode's kernel side) plays a
/// script with the same meaning as <see cref="DrillRunner"/>.
/// </summary>
public sealed class TcpNumbering(DrillConfig config, IReadOnlySet<string> relax)
{
    private uint remoteIsn;                 // the remote side's ISN: an inbound SYN's number as written
    private bool remoteIsnKnown;
    private bool activeSynSent;             // our SYN is out and no SYN-ACK has answered it (SOCKET_ACTIVE_SYN_SENT)
    private uint liveLocalIsn, scriptLocalIsn; // the stack's ISN, and the number the script gave its SYN
    private bool localIsnKnown;
    private readonly Dictionary<uint, uint> tsValues = new(); // script TS val on a `>` line -> the TS val really sent
    private (uint Script, uint Live)? firstTsVal;

    /// <summary>The stack's live ISN (0 until an outbound SYN was seen): ICMP quotes count from it.</summary>
    public uint LiveLocalIsn => liveLocalIsn;

    /// <summary>A line's flags: packetdrill's letters, ACK only from `.`.</summary>
    public static TcpFlags FlagsOf(TcpPacketEvent e)
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

    // ---- inbound -------------------------------------------------------------------------------

    /// <summary>
    /// A `&lt;` line as the TCP segment that goes on the wire (checksum included): live sequence and
    /// acknowledgment numbers, options in the line's order, zeros for data. Fails as packetdrill
    /// does on a missing window or an unknown TS ecr.
    /// </summary>
    public byte[] BuildInbound(TcpPacketEvent e, ushort source, ushort destination, Ipv4Address from, Ipv4Address to)
    {
        var flags = FlagsOf(e);
        var (seq, ack, options) = Inbound(e, flags);
        var segment = new byte[20 + options.Length + e.Length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, source);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), destination);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(8), ack);
        segment[12] = (byte)((20 + options.Length) / 4 << 4);
        segment[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(14), (ushort)e.Window!.Value);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(18), (ushort)(e.Urgent ?? 0));
        options.CopyTo(segment, 20);
        ulong sum = InternetChecksum.AddPseudoHeader(0, from, to, IpProtocol.Tcp, segment.Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(16), InternetChecksum.Finish(InternetChecksum.Add(sum, segment)));
        return segment;
    }

    /// <summary>A `&lt;` line's live sequence and acknowledgment numbers and its option bytes (learning the remote ISN from a SYN).</summary>
    private (uint Seq, uint Ack, byte[] Options) Inbound(TcpPacketEvent e, TcpFlags flags)
    {
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
        return (seq, ack, OptionBytes(e.Options ?? [], (flags & TcpFlags.Ack) != 0, ackOffset));
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

    // ---- outbound ------------------------------------------------------------------------------

    /// <summary>
    /// A segment the stack sent for a `&gt;` line: its first SYN or SYN-ACK teaches the stack's ISN
    /// (and the number the script gave it) once, as packetdrill learns it once per socket under
    /// test (handle_connect_for_script_packet, do_outbound_script_packet in
    /// SOCKET_PASSIVE_PACKET_RECEIVED): a later incarnation's SYN-ACK is read against the first ISN.
    /// </summary>
    public void LearnOutbound(TcpFlags liveFlags, uint liveSeq, TcpPacketEvent e)
    {
        if ((liveFlags & TcpFlags.Syn) == 0) return;
        if ((liveFlags & TcpFlags.Ack) == 0) activeSynSent = true;
        if (localIsnKnown) return;
        localIsnKnown = true;
        liveLocalIsn = liveSeq;
        scriptLocalIsn = e.Start;
    }

    /// <summary>A live sequence number of the stack's in the script's terms.</summary>
    public uint SeqInScript(TcpFlags liveFlags, uint liveSeq) =>
        (liveFlags & TcpFlags.Syn) != 0 ? liveSeq - (liveLocalIsn - scriptLocalIsn) : liveSeq - liveLocalIsn;

    /// <summary>A live acknowledgment number of the stack's in the script's terms (a SYN-ACK's is absolute, as the SYN's number was).</summary>
    public uint AckInScript(TcpFlags liveFlags, uint liveAck) =>
        (liveFlags & TcpFlags.Ack) != 0 ? liveAck - ((liveFlags & TcpFlags.Syn) != 0 ? 0 : remoteIsn) : liveAck;

    /// <summary>RFC 9293 3.10.7.1: a RST answering a segment without ACK has SEQ=0, which a `&gt; R 0:0(0)` line accepts.</summary>
    public static bool IsRstToNoAck(TcpFlags liveFlags, uint liveSeq, TcpPacketEvent e) =>
        (liveFlags & TcpFlags.Rst) != 0 && liveSeq == 0 && e.Start == 0;

    /// <summary>Does the live sequence number say what the line does (`...(LEN)` lines and RSTs with SEQ=0 aside)?</summary>
    public bool SequenceMatches(TcpFlags liveFlags, uint liveSeq, TcpPacketEvent e) =>
        e.AnySequence || SeqInScript(liveFlags, liveSeq) == e.Start || IsRstToNoAck(liveFlags, liveSeq, e);

    /// <summary>Is the acknowledgment number checked (the line has `.`, or the segment has no ACK) and does it match?</summary>
    public bool AckMatches(TcpFlags liveFlags, uint liveAck, TcpFlags lineFlags, TcpPacketEvent e) =>
        ((lineFlags & TcpFlags.Ack) == 0 && (liveFlags & TcpFlags.Ack) != 0) || AckInScript(liveFlags, liveAck) == (e.Ack ?? 0);

    /// <summary>
    /// verify_outbound_live_tcp_options: the same options in the same order (nop and eol included);
    /// values equal, sack edges relative to the remote ISN; TS val checked only with
    /// --tcp_ts_tick_usecs; TS ecr compared (stricter than packetdrill, which skips it). Each TS val
    /// is remembered for the `&lt;` lines that echo it.
    /// </summary>
    public void CompareOptions(IReadOnlyList<TcpOptionSpec> expected, ReadOnlySpan<byte> bytes, bool syn, List<string> problems)
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

    // ---- describing what the stack sent, in the script's own terms ------------------------------

    /// <summary>A segment the stack sent as a `&gt;` line would say it.</summary>
    public string Describe(TcpSegment s)
    {
        uint seq = SeqInScript(s.Flags, s.Sequence.Value);
        var ack = (s.Flags & TcpFlags.Ack) != 0 ? $" ack {AckInScript(s.Flags, s.Acknowledgment.Value)}" : "";
        var options = s.OptionBytes.Length > 0 ? " " + DescribeOptions(s.OptionBytes) : "";
        return $"> {FlagText(s.Flags)} {seq}:{seq + (uint)s.Payload.Length}({s.Payload.Length}){ack} win {s.Window}{options}";
    }

    /// <summary>Option bytes in packetdrill's form and wire order, sack edges relative to the remote ISN.</summary>
    public string DescribeOptions(ReadOnlySpan<byte> bytes)
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
    public static string FlagText(TcpFlags f)
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
