using System.Buffers.Binary;
using System.Text;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Packetdrill;

/// <summary>
/// Runs a packetdrill script against one UserStack core on the virtual clock, the way
/// packetdrill runs against a kernel: the script plays the remote host, injects `&lt;` segments,
/// expects `&gt;` segments at their times (within a tolerance), and makes socket calls on the
/// local stack. Sequence numbers in the script are relative to each side's ISN. Addresses follow
/// packetdrill's defaults: local 192.168.0.1, remote 192.0.2.1 behind gateway 192.168.0.2,
/// listening port 8080. Options follow packetdrill too: sack edges are relative to the ISN of
/// the side whose data they acknowledge, a TS val on a `&gt;` line is not checked (the stack's
/// clock is its own) but names the value that a later `&lt;` line's TS ecr echoes.
/// </summary>
public sealed class ScriptRunner : IFrameSink
{
    public static readonly Ipv4Address LocalAddress = Ipv4Address.Parse("192.168.0.1");
    public static readonly Ipv4Address RemoteAddress = Ipv4Address.Parse("192.0.2.1");
    public static readonly Ipv4Address Gateway = Ipv4Address.Parse("192.168.0.2");
    private static readonly MacAddress LocalMac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:00:02");
    private const ushort ServerPort = 8080;
    private const ushort RemoteEphemeralPort = 51000;
    private const uint RemoteIsn = 1_000_000;

    private readonly NetStack stack;
    private readonly Queue<(Instant At, byte[] Frame)> sent = new();
    private readonly Dictionary<int, TcpConnection> descriptors = new();
    private readonly Dictionary<uint, uint> sentTimestamps = new(); // TS val on a `>` line -> the TS val the stack sent there
    private readonly StringBuilder log = new();
    private readonly Instant start = Instant.FromMilliseconds(1000);
    private readonly TimeSpan tolerance;
    private Instant now;
    private Instant lastEventTime;
    private uint? localIsn;
    private ushort localPort = ServerPort, remotePort = RemoteEphemeralPort;
    private int nextDescriptor = 3;

    public ScriptRunner(TcpOptions? tcp = null, TimeSpan? tolerance = null)
    {
        this.tolerance = tolerance ?? TimeSpan.FromMilliseconds(4); // packetdrill's default tolerance_usecs
        now = start;
        lastEventTime = start;
        stack = new NetStack(new StackOptions
        {
            HardwareAddress = LocalMac,
            Address = new Ipv4Cidr(LocalAddress, 24),
            Gateway = Gateway,
            Secret = [7],
            Tcp = tcp ?? new TcpOptions(),
        }, this);
        // The gateway introduces itself, so that no ARP stands between the script and TCP.
        stack.Receive(Frames.Arp(ArpOperation.Request, GatewayMac, Gateway, MacAddress.Zero, LocalAddress), now);
        sent.Clear();
    }

    public NetStack Stack => stack;
    public string Log => log.ToString();

    public void Transmit(ReadOnlySpan<byte> frame)
    {
        if (frame.Length >= 14 && frame[12] == 0x08 && frame[13] == 0x00) sent.Enqueue((now, frame.ToArray()));
        else if (frame.Length >= 14 && frame[12] == 0x08 && frame[13] == 0x06) gatewayAsked = true; // ARP re-polls the gateway
    }

    private bool gatewayAsked;

    /// <summary>The gateway answers the stack's ARP requests, as the kernel behind packetdrill's tun device would.</summary>
    private void AnswerArp()
    {
        if (!gatewayAsked) return;
        gatewayAsked = false;
        stack.Receive(Frames.Arp(ArpOperation.Reply, GatewayMac, Gateway, LocalMac, LocalAddress), now);
    }

    public void Run(string script)
    {
        foreach (var e in ScriptParser.Parse(script))
        {
            var at = e.Time.Any ? now : e.Time.Relative ? lastEventTime + TimeSpan.FromSeconds(e.Time.Seconds) : start + TimeSpan.FromSeconds(e.Time.Seconds);
            try
            {
                if (e is PacketEvent { Inbound: false } expected) Expect(expected, at);
                else
                {
                    AdvanceTo(at);
                    NoUnexpectedPackets(at, e);
                    if (e is PacketEvent inbound) Inject(inbound);
                    else if (e is IcmpEvent icmp) InjectIcmp(icmp);
                    else Call((CallEvent)e);
                }
            }
            catch (ScriptFailure f) { throw new ScriptFailure($"line {e.Line} ({e.Text}): {f.Message}\n--- log ---\n{log}"); }
            if (stack.Tcp.CheckInvariants(now) is { } broken) throw new ScriptFailure($"line {e.Line} ({e.Text}): invariant broken: {broken}\n--- log ---\n{log}");
            lastEventTime = at;
            log.AppendLine($"{(at - start).TotalSeconds:0.000} ok   {e.Text}");
        }
        AdvanceTo(now + tolerance);
        NoUnexpectedPackets(now, null);
    }

    private void AdvanceTo(Instant target)
    {
        while (stack.NextDeadline <= target)
        {
            if (stack.NextDeadline > now) now = stack.NextDeadline;
            stack.Poll(now);
            AnswerArp();
        }
        AnswerArp();
        if (target > now) now = target;
    }

    private void NoUnexpectedPackets(Instant before, ScriptEvent? next)
    {
        if (sent.TryPeek(out var p) && p.At <= before)
            throw new ScriptFailure($"unexpected packet at {(p.At - start).TotalSeconds:0.000}: {Describe(p.Frame)}");
    }

    private void Expect(PacketEvent e, Instant at)
    {
        AdvanceTo(at + tolerance);
        if (!sent.TryDequeue(out var p)) throw new ScriptFailure($"expected a packet at {(at - start).TotalSeconds:0.000}, none was sent");
        if (p.At < at - tolerance || p.At > at + tolerance)
            throw new ScriptFailure($"packet sent at {(p.At - start).TotalSeconds:0.000}, expected at {(at - start).TotalSeconds:0.000} ± {tolerance.TotalMilliseconds} ms: {Describe(p.Frame)}");
        var seg = Read(p.Frame, out _);
        if ((e.Flags & (TcpFlags.Syn | TcpFlags.Rst)) != 0 && localIsn is null) localIsn = seg.Sequence.Value - e.Start;
        uint isn = localIsn ?? throw new ScriptFailure("the local ISN is unknown: the first outbound packet must be a SYN");
        var problems = new List<string>();
        if (seg.Flags != e.Flags) problems.Add($"flags {Flags(seg.Flags)} instead of {Flags(e.Flags)}");
        if (!SequenceMatches(seg, isn, e.Start)) problems.Add($"seq {seg.Sequence.Value - isn} instead of {e.Start}");
        if (seg.PayloadLength != e.Length) problems.Add($"{seg.PayloadLength} bytes instead of {e.Length}");
        if (e.Ack is { } ack && seg.Acknowledgment.Value - RemoteIsn != ack) problems.Add($"ack {seg.Acknowledgment.Value - RemoteIsn} instead of {ack}");
        if (e.Window is { } win && seg.Window != win) problems.Add($"win {seg.Window} instead of {win}");
        if (e.Options is { } o) problems.AddRange(CompareOptions(o, seg.Options, RemoteIsn));
        if (problems.Count > 0) throw new ScriptFailure($"{string.Join("; ", problems)}: {Describe(p.Frame)}");
        if (e.Options?.Timestamps is { } script && seg.Options.Timestamps is { } wire) sentTimestamps[script.Value] = wire.Value;
    }

    private void Inject(PacketEvent e)
    {
        uint ack = 0;
        if ((e.Flags & TcpFlags.Ack) != 0)
        {
            // Before the stack has sent a SYN (e.g. an ACK to a closed port), its ISN is taken as 0.
            localIsn ??= 0;
            ack = localIsn.Value + (e.Ack ?? 0);
        }
        var options = e.Options is { } o ? ToWire(o, localIsn ?? 0, sentTimestamps) : default;
        var repr = new TcpRepr(remotePort, localPort, new SeqNumber(RemoteIsn + e.Start), new SeqNumber(ack), e.Flags, e.Window ?? 65535, 0, options, e.Length);
        var segment = new byte[repr.Length];
        repr.Write(segment, RemoteAddress, LocalAddress);
        stack.Receive(Frames.Ipv4(IpProtocol.Tcp, segment, RemoteAddress, LocalAddress, LocalMac), now);
    }

    /// <summary>
    /// A `&lt;` line's options as they go on the wire: sack edges acknowledge the stack's data, so
    /// they are relative to its ISN; a TS ecr names a TS val the script wrote on an earlier `&gt;`
    /// line and becomes the value the stack really sent there (0, and values never seen, go as
    /// written). The TS val goes as written.
    /// </summary>
    internal static TcpOptionsRepr ToWire(TcpOptionsRepr script, uint localIsn, IReadOnlyDictionary<uint, uint> sentTimestamps)
    {
        var wire = script with { Sack = Shift(script.Sack, localIsn) };
        if (script.Timestamps is var (val, ecr) && ecr != 0 && sentTimestamps.TryGetValue(ecr, out var sent))
            wire = wire with { Timestamps = (val, sent) };
        return wire;
    }

    /// <summary>
    /// How the options the stack sent differ from a `&gt;` line's: mss and wscale values, sackOK
    /// and TS presence, the TS ecr (it echoes a literal TS val of the script), and the sack blocks,
    /// relative to the remote ISN, if the line lists any. The TS val is not compared.
    /// </summary>
    internal static List<string> CompareOptions(TcpOptionsRepr expected, TcpOptionsRepr actual, uint remoteIsn)
    {
        var problems = new List<string>();
        if (actual.MaximumSegmentSize != expected.MaximumSegmentSize)
            problems.Add($"{Option("mss", actual.MaximumSegmentSize)} instead of {Option("mss", expected.MaximumSegmentSize)}");
        if (actual.WindowScale != expected.WindowScale)
            problems.Add($"{Option("wscale", actual.WindowScale)} instead of {Option("wscale", expected.WindowScale)}");
        if (actual.SackPermitted != expected.SackPermitted)
            problems.Add(actual.SackPermitted ? "sackOK instead of no sackOK" : "no sackOK instead of sackOK");
        if (actual.Timestamps?.EchoReply != expected.Timestamps?.EchoReply)
            problems.Add($"{Timestamp(actual)} instead of {Timestamp(expected)}");
        if (expected.Sack.Count > 0)
        {
            string want = Sack(expected.Sack, 0), got = Sack(actual.Sack, remoteIsn);
            if (got != want) problems.Add($"{got} instead of {want}");
        }
        return problems;
    }

    private static string Option(string name, object? value) => value is null ? $"no {name}" : $"{name} {value}";

    private static string Timestamp(TcpOptionsRepr o) => o.Timestamps is { } ts ? $"TS ecr {ts.EchoReply}" : "no TS";

    private static string Sack(SackBlocks blocks, uint isn) =>
        blocks.Count == 0 ? "no sack" : "sack " + string.Join(" ", Enumerable.Range(0, blocks.Count).Select(i => $"{blocks[i].Left.Value - isn}:{blocks[i].Right.Value - isn}"));

    private static SackBlocks Shift(SackBlocks blocks, uint by)
    {
        var shifted = default(SackBlocks);
        for (int i = 0; i < blocks.Count; i++)
            shifted = shifted.With(new SackBlock(new SeqNumber(blocks[i].Left.Value + by), new SeqNumber(blocks[i].Right.Value + by)));
        return shifted;
    }

    /// <summary>
    /// An ICMP error from the remote host quoting the IPv4 header and first 8 bytes of a segment
    /// the stack sent (RFC 792): its ports and the sequence number at the script's start offset.
    /// </summary>
    private void InjectIcmp(IcmpEvent e)
    {
        uint isn = localIsn ?? throw new ScriptFailure("an ICMP error needs the stack's ISN: the stack must have sent its SYN");
        var quotedTcp = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(quotedTcp, localPort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(quotedTcp.AsSpan(2), remotePort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(quotedTcp.AsSpan(4), isn + e.Start);
        var quotedIp = new Ipv4Repr(LocalAddress, RemoteAddress, IpProtocol.Tcp, (int)(e.End - e.Start) + 20);
        var quoted = new byte[Ipv4Repr.HeaderLength + 8];
        quotedIp.Write(quoted);
        quotedTcp.CopyTo(quoted, Ipv4Repr.HeaderLength);
        var message = new byte[IcmpPacket.HeaderLength + quoted.Length];
        quoted.CopyTo(message, IcmpPacket.HeaderLength);
        new IcmpRepr(e.Type, e.Code, e.Mtu ?? 0u, quoted.Length).Write(message);
        stack.Receive(Frames.Ipv4(IpProtocol.Icmp, message, RemoteAddress, LocalAddress, LocalMac), now);
    }

    private void Call(CallEvent c)
    {
        (long result, Errno errno) = c.Name switch
        {
            "socket" => Socket(),
            "fcntl" => (0, Errno.Ok), // the runner's sockets never block
            "setsockopt" => SetSockOpt(c),
            "bind" => Ok(stack.Tcp.Bind(Fd(c), new Endpoint(Ipv4Address.Any, ServerPort))),
            "listen" => Ok(stack.Tcp.Listen(Fd(c), int.Parse(c.Arguments[1]), now)),
            "accept" => Accept(c),
            "connect" => Connect(c),
            "write" or "send" => Write(c),
            "read" or "recv" => ReadCall(c),
            "shutdown" => Shutdown(c),
            "close" => Close(c),
            "getsockopt" => GetSockOpt(c),
            _ => throw new ScriptFailure($"the runner does not know the call '{c.Name}'"),
        };
        if (result != c.Result || (c.Errno is not null && errno.ToString() != c.Errno))
            throw new ScriptFailure($"{c.Name} returned {result}{(errno != Errno.Ok ? " " + errno : "")}, expected {c.Result}{(c.Errno is null ? "" : " " + c.Errno)}");
    }

    private static (long, Errno) Ok(Errno e) => e == Errno.Ok ? (0, Errno.Ok) : (-1, e);

    private TcpConnection Fd(CallEvent c) =>
        descriptors.TryGetValue(int.Parse(c.Arguments[0]), out var s) ? s : throw new ScriptFailure($"descriptor {c.Arguments[0]} is not open");

    private (long, Errno) Socket()
    {
        int fd = nextDescriptor++;
        descriptors[fd] = stack.Tcp.Open();
        return (fd, Errno.Ok);
    }

    private (long, Errno) Accept(CallEvent c)
    {
        var child = Fd(c).TakeAccepted();
        if (child is null) return (-1, Errno.EAGAIN);
        int fd = nextDescriptor++;
        descriptors[fd] = child;
        return (fd, Errno.Ok);
    }

    private (long, Errno) Connect(CallEvent c)
    {
        var s = Fd(c);
        var e = stack.Tcp.Connect(s, new Endpoint(RemoteAddress, ServerPort), now);
        localPort = s.Local.Port;
        remotePort = ServerPort;
        return e == Errno.Ok ? (-1, Errno.EINPROGRESS) : (-1, e); // the runner's sockets never block
    }

    private (long, Errno) Write(CallEvent c)
    {
        int n = int.Parse(c.Arguments[2]);
        int written = Fd(c).Send(new byte[n], now, out var e);
        return written > 0 || e == Errno.Ok ? (written, Errno.Ok) : (-1, e);
    }

    private (long, Errno) ReadCall(CallEvent c)
    {
        int n = int.Parse(c.Arguments[2]);
        int read = Fd(c).Receive(new byte[n], false, now, out var e);
        return e == Errno.Ok ? (read, Errno.Ok) : (-1, e);
    }

    private (long, Errno) Shutdown(CallEvent c)
    {
        var s = Fd(c);
        var how = c.Arguments[1];
        if (how is "SHUT_RD" or "SHUT_RDWR") s.ShutdownRead();
        if (how is "SHUT_WR" or "SHUT_RDWR") s.ShutdownWrite(now);
        return (0, Errno.Ok);
    }

    private (long, Errno) Close(CallEvent c)
    {
        stack.Tcp.Close(Fd(c), now);
        descriptors.Remove(int.Parse(c.Arguments[0]));
        return (0, Errno.Ok);
    }

    /// <summary>
    /// setsockopt for the TCP options a script can observe on the wire: TCP_NODELAY, SO_KEEPALIVE,
    /// TCP_KEEPIDLE/KEEPINTVL (seconds), TCP_KEEPCNT, TCP_CONGESTION ("cubic", "newreno");
    /// SO_REUSEADDR does not matter to a script-driven core; anything else is reported.
    /// </summary>
    private (long, Errno) SetSockOpt(CallEvent c)
    {
        var s = Fd(c);
        var value = c.Arguments[3].Trim('[', ']', '"');
        int number = int.TryParse(value, out var n) ? n : 0;
        switch (c.Arguments[2])
        {
            case "SO_REUSEADDR": s.ReuseAddress = number != 0; break;
            case "TCP_NODELAY": s.NoDelay = number != 0; if (s.NoDelay && s.State.IsSynchronized()) s.Output(now); break;
            case "SO_KEEPALIVE": s.SetKeepAlive(number != 0, now); break;
            case "TCP_KEEPIDLE": s.KeepAliveIdle = TimeSpan.FromSeconds(number); if (s.KeepAlive) s.SetKeepAlive(true, now); break;
            case "TCP_KEEPINTVL": s.KeepAliveInterval = TimeSpan.FromSeconds(number); break;
            case "TCP_KEEPCNT": s.KeepAliveCount = number; break;
            case "TCP_CONGESTION": return s.SetCongestionControl(value) ? (0, Errno.Ok) : (-1, Errno.ENOENT);
            default: throw new ScriptFailure($"setsockopt {c.Arguments[2]} is not supported by the runner");
        }
        return (0, Errno.Ok);
    }

    /// <summary>getsockopt(fd, SOL_SOCKET, SO_ERROR, [ERRNO], [4]): compares the pending error.</summary>
    private (long, Errno) GetSockOpt(CallEvent c)
    {
        if (c.Arguments[2] != "SO_ERROR") throw new ScriptFailure($"getsockopt {c.Arguments[2]} is not supported");
        var expected = c.Arguments[3].Trim('[', ']');
        var actual = Fd(c).TakeError();
        string actualText = actual == Errno.Ok ? "0" : actual.ToString();
        if (actualText != expected) throw new ScriptFailure($"SO_ERROR is {actualText}, expected {expected}");
        return (0, Errno.Ok);
    }

    private static TcpRepr Read(byte[] frame, out byte[] optionBytes)
    {
        if (!Ipv4Packet.TryRead(frame.AsSpan(14), out var ip, out _) || ip.Protocol != IpProtocol.Tcp)
            throw new ScriptFailure("the stack sent something that is not TCP");
        if (!TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out var why))
            throw new ScriptFailure($"the stack sent a bad segment: {why}");
        optionBytes = seg.OptionBytes.ToArray();
        return seg.ToRepr();
    }

    private string Describe(byte[] frame)
    {
        var s = Read(frame, out var options);
        uint isn = localIsn ?? s.Sequence.Value;
        var start = s.Sequence.Value - isn;
        var ack = (s.Flags & TcpFlags.Ack) != 0 ? $" ack {s.Acknowledgment.Value - RemoteIsn}" : "";
        var described = options.Length > 0 ? " " + DescribeOptions(options, RemoteIsn) : "";
        return $"> {Flags(s.Flags)} {start}:{start + (uint)s.PayloadLength}({s.PayloadLength}){ack} win {s.Window}{described}";
    }

    /// <summary>
    /// Option bytes in packetdrill's form and in their order on the wire, e.g.
    /// `&lt;mss 1460,sackOK,TS val 123 ecr 0,nop,wscale 7&gt;`; sack edges relative to the remote ISN.
    /// </summary>
    internal static string DescribeOptions(ReadOnlySpan<byte> bytes, uint remoteIsn)
    {
        var parts = new List<string>();
        for (int i = 0; i < bytes.Length;)
        {
            var kind = (TcpOptionKind)bytes[i];
            if (kind == TcpOptionKind.EndOfList) { parts.Add("eol"); break; } // what follows is padding
            if (kind == TcpOptionKind.NoOperation) { parts.Add("nop"); i++; continue; }
            int length = i + 1 < bytes.Length ? bytes[i + 1] : 0;
            if (length < 2 || i + length > bytes.Length) { parts.Add($"bad option {(byte)kind}"); break; }
            var value = bytes.Slice(i + 2, length - 2);
            parts.Add((kind, length) switch
            {
                (TcpOptionKind.MaximumSegmentSize, 4) => $"mss {BinaryPrimitives.ReadUInt16BigEndian(value)}",
                (TcpOptionKind.WindowScale, 3) => $"wscale {value[0]}",
                (TcpOptionKind.SackPermitted, 2) => "sackOK",
                (TcpOptionKind.Timestamps, 10) => $"TS val {BinaryPrimitives.ReadUInt32BigEndian(value)} ecr {BinaryPrimitives.ReadUInt32BigEndian(value[4..])}",
                (TcpOptionKind.Sack, _) when value.Length % 8 == 0 && value.Length > 0 => DescribeSack(value, remoteIsn),
                _ => $"option {(byte)kind} length {length}",
            });
            i += length;
        }
        return $"<{string.Join(",", parts)}>";
    }

    private static string DescribeSack(ReadOnlySpan<byte> blocks, uint remoteIsn)
    {
        var text = new StringBuilder("sack");
        for (int b = 0; b < blocks.Length; b += 8)
            text.Append($" {BinaryPrimitives.ReadUInt32BigEndian(blocks[b..]) - remoteIsn}:{BinaryPrimitives.ReadUInt32BigEndian(blocks[(b + 4)..]) - remoteIsn}");
        return text.ToString();
    }

    /// <summary>
    /// The script's relative sequence number against what was sent; a RST answering a segment
    /// without ACK carries SEQ = 0 (RFC 9293 3.10.7.1), written 0 in a script.
    /// </summary>
    internal static bool SequenceMatches(in TcpRepr seg, uint isn, uint expected) =>
        seg.Sequence.Value - isn == expected || ((seg.Flags & TcpFlags.Rst) != 0 && seg.Sequence.Value == 0 && expected == 0);

    /// <summary>Flags as packetdrill writes them: S F R P . then U E W.</summary>
    internal static string Flags(TcpFlags f)
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
        return sb.ToString();
    }
}

public sealed class ScriptFailure(string message) : Exception(message);
