namespace UserStack.Drill.Language;

// Packet lines: parser.y's tcp_packet_spec, udp_packet_spec and icmp_packet_spec.
public sealed partial class Parser
{
    private PacketEvent ParsePacket(int line, EventTime time)
    {
        var direction = Next().Is('<') ? Direction.Inbound : Direction.Outbound;
        var outer = ParseOuterHeaders();
        var ip = ParseIpInfo();
        if (AcceptWord("encap"))
        {
            ExpectWord("psp");
            ExpectWord("spi");
            outer.Add(new Encapsulation("psp", $"spi {ExpectInteger("a PSP SPI")}"));
        }
        if (AcceptWord("udp"))
        {
            var ports = ParsePorts();
            Expect('(');
            int length = (int)ExpectInteger("the UDP payload length");
            Expect(')');
            return new UdpPacketEvent(line, time, direction, outer, ip, ports, length);
        }
        if (AcceptWord("icmp")) return ParseIcmp(line, time, direction, outer, ip);
        return ParseTcp(line, time, direction, outer, ip);
    }

    /// <summary>packet_prefix: `ipv4 A > B :`, `ipv6 A > B :`, `gre ... :`, `mpls ... :` before the packet itself.</summary>
    private List<Encapsulation> ParseOuterHeaders()
    {
        var outer = new List<Encapsulation>();
        while (true)
        {
            var t = Peek();
            if (t.IsWord("ipv4") || t.IsWord("ipv6"))
            {
                at++;
                ParseIpInfo();
                var from = Next();
                Expect('>');
                var to = Next();
                if (from.Kind is not (TokenKind.Ipv4Address or TokenKind.Ipv6Address) || to.Kind != from.Kind)
                    throw new ScriptSyntaxException(t.Line, $"expected '{t.Text} ADDRESS > ADDRESS :'");
                Expect(':');
                outer.Add(new Encapsulation(t.Text, $"{from.Text} > {to.Text}"));
            }
            else if (t.IsWord("gre") || t.IsWord("GREv0") || t.IsWord("mpls"))
            {
                at++;
                outer.Add(new Encapsulation(t.Text == "mpls" ? "mpls" : "gre", RawUntilColon()));
            }
            else return outer;
        }
    }

    /// <summary>The balanced tokens of a GRE or MPLS header up to its ':' (kept as text; the runner does not build them).</summary>
    private string RawUntilColon()
    {
        var words = new List<string>();
        int depth = 0;
        while (!(Peek().Is(':') && depth == 0))
        {
            var t = Next();
            if (t.Kind == TokenKind.End) throw new ScriptSyntaxException(t.Line, "expected ':' after the outer header");
            if (t.Is('(') || t.Is('[') || t.Is('{')) depth++;
            if (t.Is(')') || t.Is(']') || t.Is('}')) depth--;
            words.Add(t.Text);
        }
        Expect(':');
        return string.Join(' ', words);
    }

    /// <summary>opt_ip_info: `[ect0]`, `(tos 0x10)`, `[ttl 64]`, `[noecn, flowlabel 0x1]`.</summary>
    private IpInfo? ParseIpInfo()
    {
        char close;
        if (Peek().Is('[') && IsIpInfoWord(Peek(1))) close = ']';
        else if (Peek().Is('(') && IsIpInfoWord(Peek(1))) close = ')';
        else return null;
        at++;
        string? ecn = null;
        int? tos = null, ttl = null, flow = null;
        do
        {
            var w = Next();
            switch (w.Text)
            {
                case "noecn" or "ect0" or "ect1" or "ce" or "ect01": ecn = w.Text; break;
                case "tos": tos = (int)ExpectInteger("a TOS value (hex)"); break;
                case "ttl": ttl = (int)ExpectInteger("a TTL"); break;
                case "flowlabel": flow = (int)ExpectInteger("a flow label (hex)"); break;
                default: throw new ScriptSyntaxException(w.Line, $"unknown IP info '{w.Text}'");
            }
        } while (Accept(','));
        Expect(close);
        return new IpInfo(ecn, tos, ttl, flow);
    }

    private static bool IsIpInfoWord(Token t) => t.Kind == TokenKind.Word && t.Text is "noecn" or "ect0" or "ect1" or "ce" or "ect01" or "tos" or "ttl" or "flowlabel";

    /// <summary>opt_port_info: `SRC > DST` written before the flags or the UDP length.</summary>
    private (int, int)? ParsePorts()
    {
        if (Peek().Kind != TokenKind.Integer || !Peek(1).Is('>')) return null;
        int source = (int)ExpectInteger("a port");
        Expect('>');
        int destination = (int)ExpectInteger("a port");
        return (source, destination);
    }

    private TcpPacketEvent ParseTcp(int line, EventTime time, Direction direction, List<Encapsulation> outer, IpInfo? ip)
    {
        var ports = ParsePorts();
        var (flags, ace) = ParseFlags();
        bool anySequence = Peek().Kind == TokenKind.Ellipsis && direction == Direction.Outbound;
        var (start, end, length) = anySequence ? AnySequence() : ParseSequence();
        uint? ack = AcceptWord("ack") ? U32(ExpectInteger("an ACK number"), "ack") : null;
        uint? window = AcceptWord("win") ? U32(ExpectInteger("a window"), "win") : null;
        uint? urgent = AcceptWord("urg") ? U32(ExpectInteger("an urgent pointer"), "urg") : null;
        IReadOnlyList<TcpOptionSpec>? options = [];
        if (Accept('<'))
        {
            if (Peek().Kind == TokenKind.Ellipsis)
            {
                at++;
                Expect('>');
                if (direction == Direction.Inbound) throw new ScriptSyntaxException(line, "<...> for TCP options can only be used with outbound packets");
                options = null;
            }
            else
            {
                var list = new List<TcpOptionSpec>();
                do list.Add(ParseTcpOption()); while (Accept(','));
                Expect('>');
                options = list;
            }
        }
        return new TcpPacketEvent(line, time, direction, outer, ip, ports, flags, ace, start, end, length, ack, window, urgent, options) { AnySequence = anySequence };
    }

    /// <summary>flags: letters with an optional `.` (ACK), `.` alone, `-` (none), or AccECN's `S.1`-style ACE value.</summary>
    private (string Flags, string? Ace) ParseFlags()
    {
        if (Accept('.')) return (".", null);
        if (Accept('-')) return ("", null);
        string letters = "";
        if (Peek().Kind == TokenKind.Word) letters = Next().Text;
        if (Peek().Kind == TokenKind.Float && Peek().Text.StartsWith('.')) return (letters, Next().Text[1..]);
        if (letters.Length == 0) throw Error("TCP flags (e.g. S, S., P., F., R, . or -)");
        if (Accept('.')) letters += ".";
        foreach (var c in letters)
            if ("SFRPUEWA.".IndexOf(c) < 0) throw new ScriptSyntaxException(Peek().Line, $"unknown TCP flag '{c}' in '{letters}'");
        return (letters, null);
    }

    /// <summary>`...(LENGTH)` on an outbound packet: any sequence number (the nplab/FreeBSD packetdrill fork).</summary>
    private (uint, uint, uint) AnySequence()
    {
        at++;
        Expect('(');
        uint length = U32(ExpectInteger("the payload length"), "payload length");
        Expect(')');
        return (0, length, length);
    }

    /// <summary>seq: `START:END(LENGTH)`, with END = START + LENGTH.</summary>
    private (uint, uint, uint) ParseSequence()
    {
        long start = ExpectInteger("a sequence range START:END(LENGTH)");
        Expect(':');
        long end = ExpectInteger("the end of the sequence range");
        Expect('(');
        long length = ExpectInteger("the payload length");
        Expect(')');
        var (s, e, l) = (U32(start, "start sequence"), U32(end, "end sequence"), U32(length, "payload length"));
        if (unchecked(e - s) != l) throw new ScriptSyntaxException(Peek().Line, $"inconsistent TCP sequence numbers: {start}:{end} is not {length} bytes");
        return (s, e, l);
    }

    private uint U32(long value, string what) =>
        value is >= 0 and <= uint.MaxValue ? (uint)value : throw new ScriptSyntaxException(Peek().Line, $"{what} {value} is not a 32-bit unsigned number");

    /// <summary>tcp_option: nop, eol, mss N, wscale N, sackOK, sack L:R..., TS val N ecr N, md5 BLOB, FO [COOKIE], FOEXP [COOKIE], ECN e0b N ceb N e1b N.</summary>
    private TcpOptionSpec ParseTcpOption()
    {
        var w = Next();
        switch (w.Kind == TokenKind.Word ? w.Text : "")
        {
            case "nop" or "eol" or "sackOK": return new TcpOptionSpec(w.Text, []);
            case "mss" or "wscale": return new TcpOptionSpec(w.Text, [ExpectInteger($"a value for {w.Text}")]);
            case "sack":
                var edges = new List<long>();
                do
                {
                    edges.Add(U32(ExpectInteger("a SACK block LEFT:RIGHT"), "sack edge"));
                    Expect(':');
                    edges.Add(U32(ExpectInteger("a SACK block's right edge"), "sack edge"));
                } while (Peek().Kind == TokenKind.Integer);
                return new TcpOptionSpec("sack", edges);
            case "TS":
                ExpectWord("val");
                long val = ExpectInteger("a TS value");
                ExpectWord("ecr");
                return new TcpOptionSpec("TS", [val, ExpectInteger("a TS echo reply")]);
            case "md5": return new TcpOptionSpec("md5", [], Blob() ?? throw Error("an MD5 signature"));
            case "FO" or "FOEXP": return new TcpOptionSpec(w.Text, [], Blob());
            case "ECN":
                var values = new List<long>();
                var names = new List<string>();
                while (Peek().Kind == TokenKind.Word && Peek().Text is "e0b" or "e1b" or "ceb")
                {
                    names.Add(Next().Text);
                    values.Add(ExpectInteger("an AccECN counter"));
                }
                if (names.Count == 0) throw Error("e0b, e1b or ceb after ECN");
                return new TcpOptionSpec("ECN", values, string.Join(' ', names));
            default: throw new ScriptSyntaxException(w.Line, $"unknown TCP option {w}");
        }
    }

    /// <summary>hex_blob: a word or an integer of hex digits (TFO cookies, MD5 signatures); absent before ',' or '>'.</summary>
    private string? Blob() => Peek().Kind is TokenKind.Word or TokenKind.Integer or TokenKind.Hex ? Next().Text : null;

    /// <summary>icmp_packet_spec: `icmp TYPE [CODE] [mtu N] [id N] [[START:END(LEN)] | [udp (N)] | [raw (N)]]`.</summary>
    private IcmpPacketEvent ParseIcmp(int line, EventTime time, Direction direction, List<Encapsulation> outer, IpInfo? ip)
    {
        var type = Next();
        if (type.Kind != TokenKind.Word) throw new ScriptSyntaxException(type.Line, $"expected an ICMP type, found {type}");
        string? code = Peek().Kind == TokenKind.Word && Peek().Text is not ("mtu" or "id") ? Next().Text : null;
        int? mtu = AcceptWord("mtu") ? (int)ExpectInteger("an MTU") : null;
        int? id = AcceptWord("id") ? (int)ExpectInteger("an echo id") : null;
        IcmpQuote? quote = null;
        if (Accept('['))
        {
            if (Peek().IsWord("udp") || Peek().IsWord("raw"))
            {
                string protocol = Next().Text;
                Expect('(');
                uint length = U32(ExpectInteger("a length"), "length");
                Expect(')');
                quote = new IcmpQuote(protocol, 0, length, length);
            }
            else
            {
                var (s, e, l) = ParseSequence();
                quote = new IcmpQuote("tcp", s, e, l);
            }
            Expect(']');
        }
        return new IcmpPacketEvent(line, time, direction, outer, ip, type.Text, code, mtu, id, quote);
    }
}
