using System.Text;
using UserStack.Tcp;
using UserStack.Tests.Packetdrill;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Differential;

/// <summary>
/// Plays one packetdrill-language script against the Linux kernel the way ScriptRunner plays it
/// against UserStack: the same parser, the same addresses and ports (local 192.168.0.1:8080,
/// remote 192.0.2.1:51000, or 192.0.2.1:8080 after a connect), the remote ISN 1,000,000, seq and
/// ack relative to each side's ISN (the kernel's learned from its first SYN or RST), sack edges
/// and TS ecr mapped with ScriptRunner.ToWire, options compared with ScriptRunner.CompareOptions.
/// Unlike ScriptRunner it does not stop at the first difference: each `&gt;` line is matched with
/// what the kernel sent (segments it sent in between are "extra", a line with nothing is
/// "missing"), every difference is recorded, and the conversation goes on. Time is real: a line
/// runs at the script's time from the start (late lines run at once), a `&gt;` line waits up to
/// <see cref="Late"/> past its time for the kernel's segment.
/// </summary>
internal sealed class KernelScriptRunner
{
    private const uint RemoteIsn = 1_000_000;
    private const ushort ServerPort = 8080;
    private const ushort RemoteEphemeralPort = 51000;
    /// <summary>How far from the script's time a segment may be and still be on time (real time: scheduling jitter on a busy 2-core machine).</summary>
    public static double Tolerance { get; set; } = 0.05;
    /// <summary>How long past its time a `&gt;` line waits for the kernel.</summary>
    public static double Late { get; set; } = 0.25;
    /// <summary>How long a call that the script expects to succeed retries EAGAIN (the kernel works asynchronously to this thread).</summary>
    private const double CallRetry = 0.2;

    private readonly KernelScene scene;
    private readonly string script;
    private readonly List<Difference> differences = [];
    private readonly StringBuilder log = new();
    private readonly Dictionary<int, int> descriptors = []; // script fd -> kernel fd
    private readonly Dictionary<uint, uint> sentTimestamps = [];
    private readonly List<KernelFrame> pending = [];
    private List<ScriptEvent> events = [];
    private int index;
    private double start, lastInjection;
    /// <summary>How late (real time) the last `&lt;` line or call ran after its script time: the kernel's answers are that late too.</summary>
    private double lag;
    private uint? localIsn;
    private ushort localPort = ServerPort, remotePort = RemoteEphemeralPort;
    private int nextDescriptor = 3;

    public KernelScriptRunner(KernelScene scene, string script)
    {
        this.scene = scene;
        this.script = script;
    }

    public IReadOnlyList<Difference> Differences => differences;
    public string Log => log.ToString();

    /// <summary>Runs the script; must be called on a thread inside the scene's namespace (socket() creates kernel sockets there).</summary>
    public void Run(string text)
    {
        events = ScriptParser.Parse(text);
        start = scene.Now + 0.02;
        double last = 0;
        try
        {
            for (index = 0; index < events.Count; index++)
            {
                var e = events[index];
                double at = e.Time.Any ? Math.Max(last, scene.Now - start) : e.Time.Relative ? last + e.Time.Seconds : e.Time.Seconds;
                if (e is PacketEvent { Inbound: false } expected) Expect(expected, at, at - last);
                else
                {
                    scene.SleepUntil(start + at);
                    Extras(start + at, e);
                    lag = Math.Max(0, Since(scene.Now) - at);
                    if (e is PacketEvent inbound) Inject(inbound);
                    else if (e is IcmpEvent icmp) InjectIcmp(icmp);
                    else Call((CallEvent)e);
                }
                last = at;
            }
            scene.SleepUntil(Math.Max(start + last + lag + Late, scene.Now));
            Extras(scene.Now, null);
        }
        finally
        {
            foreach (var fd in descriptors.Values) KernelSockets.Close(fd);
        }
    }

    private void Add(ScriptEvent e, Aspect aspect, string linux, string detail)
    {
        differences.Add(new Difference(script, e.Line, aspect, e.Text, linux, detail));
        log.AppendLine($"  line {e.Line}: {aspect}: {detail}  [linux: {linux}]");
    }

    private double Since(double sceneTime) => sceneTime - start;

    /// <summary>Segments the kernel sent before a `&lt;` line or a call (or after the last line) that no `&gt;` line took.</summary>
    private void Extras(double until, ScriptEvent? next)
    {
        // A segment answering our last injection is in the TAP's queue within microseconds; wait a little for the reader.
        double settle = Math.Max(until, lastInjection + 0.003);
        while (scene.TryTake(settle, out var f)) pending.Add(f);
        foreach (var f in pending.Where(f => f.At <= settle).ToList())
        {
            pending.Remove(f);
            var anchor = next ?? events.LastOrDefault() ?? throw new InvalidOperationException("empty script");
            var where = next is null ? "after the last line" : $"before line {next.Line}";
            differences.Add(new Difference(script, anchor.Line, Aspect.Extra, next is null ? "(nothing more)" : "(nothing before this line)",
                $"{Describe(f.Bytes)} at {Since(f.At):0.000}", $"Linux sent a segment {where} that the script does not"));
            log.AppendLine($"  extra at {Since(f.At):0.000} {where}: {Describe(f.Bytes)}");
        }
    }

    // ---- `>` lines ------------------------------------------------------------------------------

    /// <summary>
    /// Linux's timer wheel fires a timer up to 1/8 of its length late, by design (kernel/time/timer.c:
    /// the granularity of a level is 1/8 of its range): a line that follows the previous one by
    /// <paramref name="gap"/> seconds (a timer: RTO, persist, keepalive) may come that much later.
    /// </summary>
    private static double Slack(double gap) => Math.Max(0, gap) / 8;

    private void Expect(PacketEvent e, double at, double gap)
    {
        double slack = Slack(gap);
        // Wait for this line's segment; once the kernel has sent something else, only a little longer.
        double deadline = start + at + lag + Late + slack;
        while (!pending.Any(f => KeyMatches(f, e)))
        {
            double until = pending.Count == 0 ? deadline : Math.Min(deadline, Math.Max(pending[^1].At + 0.05, start + at + lag + Tolerance + slack));
            if (!scene.TryTake(until, out var frame)) break;
            pending.Add(frame);
        }

        int match = pending.FindIndex(f => KeyMatches(f, e));
        if (match < 0 && pending.Count > 0 && LaterLineMatches(pending[0]) is { } later)
        {
            Add(e, Aspect.Missing, "nothing", $"Linux sent nothing here; its next segment ({Describe(pending[0].Bytes)}) is line {later}'s");
            return;
        }
        if (match < 0 && pending.Count == 0)
        {
            Add(e, Aspect.Missing, "nothing", $"Linux sent nothing by {at + lag + Late + slack:0.000}");
            return;
        }
        if (match > 0)
        {
            foreach (var f in pending.Take(match))
                Add(e, Aspect.Extra, $"{Describe(f.Bytes)} at {Since(f.At):0.000}", "Linux sent a segment before this line's that the script does not");
            pending.RemoveRange(0, match);
        }
        var p = pending[0];
        pending.RemoveAt(0);
        Compare(e, at, slack, p);
    }

    /// <summary>Flags, relative seq, length and relative ack agree (window and options aside).</summary>
    private bool KeyMatches(KernelFrame f, PacketEvent e)
    {
        if (!TryRead(f.Bytes, out var seg)) return false;
        // PSH aside: it is advisory (RFC 9293 3.9.1), and a PSH difference is still reported by Compare.
        if ((seg.Flags & ~TcpFlags.Psh) != (e.Flags & ~TcpFlags.Psh) || seg.PayloadLength != e.Length) return false;
        if (e.Ack is { } ack && seg.Acknowledgment.Value - RemoteIsn != ack) return false;
        if (localIsn is null) return (e.Flags & (TcpFlags.Syn | TcpFlags.Rst)) != 0;
        return seg.Sequence.Value - localIsn.Value == e.Start;
    }

    /// <summary>The line of a later `&gt;` in the run of `&gt;` lines that follows, if the frame is that one's.</summary>
    private int? LaterLineMatches(KernelFrame f)
    {
        for (int i = index + 1; i < events.Count && events[i] is PacketEvent { Inbound: false } later; i++)
            if (KeyMatches(f, later)) return later.Line;
        return null;
    }

    private void Compare(PacketEvent e, double at, double slack, KernelFrame p)
    {
        string linux = $"{Describe(p.Bytes)} at {Since(p.At):0.000}";
        if (!TryRead(p.Bytes, out var seg)) { Add(e, Aspect.Segment, linux, "Linux sent a segment our parser refuses"); return; }
        if ((e.Flags & (TcpFlags.Syn | TcpFlags.Rst)) != 0 && localIsn is null) localIsn = seg.Sequence.Value - e.Start;
        uint isn = localIsn ?? seg.Sequence.Value;
        var problems = new List<string>();
        if (seg.Flags != e.Flags) problems.Add($"flags {Flags(seg.Flags)} instead of {Flags(e.Flags)}");
        if (!ScriptRunner.SequenceMatches(seg, isn, e.Start)) problems.Add($"seq {seg.Sequence.Value - isn} instead of {e.Start}");
        if (seg.PayloadLength != e.Length) problems.Add($"{seg.PayloadLength} bytes instead of {e.Length}");
        if (e.Ack is { } ack && seg.Acknowledgment.Value - RemoteIsn != ack) problems.Add($"ack {seg.Acknowledgment.Value - RemoteIsn} instead of {ack}");
        if (problems.Count > 0) Add(e, Aspect.Segment, linux, string.Join("; ", problems));
        if (e.Window is { } win && seg.Window != win) Add(e, Aspect.Window, linux, $"win {seg.Window} instead of {win}");
        if (e.Options is { } o && ScriptRunner.CompareOptions(o, seg.Options, RemoteIsn) is { Count: > 0 } optionProblems)
            Add(e, Aspect.Options, linux, string.Join("; ", optionProblems));
        // On time within the tolerance, counted from when the line that it answers really ran (lag).
        double offset = Since(p.At) - at, late = offset - lag;
        if (late > Tolerance + slack || offset < -Tolerance)
            Add(e, Aspect.Timing, linux, $"sent at {Since(p.At):0.000}, the script's time is {at:0.000} ({(offset > 0 ? "+" : "")}{offset * 1000:0} ms{(lag > 0.001 ? $", our lag {lag * 1000:0} ms" : "")})");
        if (e.Options?.Timestamps is { } script && seg.Options.Timestamps is { } wire) sentTimestamps[script.Value] = wire.Value;
        log.AppendLine($"{at:0.000} {(problems.Count == 0 ? "ok  " : "diff")} {e.Text}   [linux: {linux}]");
    }

    // ---- `<` lines ------------------------------------------------------------------------------

    private void Inject(PacketEvent e)
    {
        uint ack = 0;
        if ((e.Flags & TcpFlags.Ack) != 0)
        {
            localIsn ??= 0; // before the kernel has sent a SYN (an ACK to a closed port), as ScriptRunner
            ack = localIsn.Value + (e.Ack ?? 0);
        }
        var options = e.Options is { } o ? ScriptRunner.ToWire(o, localIsn ?? 0, sentTimestamps) : default;
        var repr = new TcpRepr(remotePort, localPort, new SeqNumber(RemoteIsn + e.Start), new SeqNumber(ack), e.Flags, e.Window ?? 65535, 0, options, e.Length);
        var segment = new byte[repr.Length];
        repr.Write(segment, ScriptRunner.RemoteAddress, ScriptRunner.LocalAddress);
        Send(IpProtocol.Tcp, segment);
        log.AppendLine($"{Since(scene.Now):0.000} sent {e.Text}");
    }

    /// <summary>An ICMP error quoting a segment the kernel sent, as ScriptRunner builds it (RFC 792).</summary>
    private void InjectIcmp(IcmpEvent e)
    {
        uint isn = localIsn ?? 0;
        var quoted = new byte[Ipv4Repr.HeaderLength + 8];
        new Ipv4Repr(ScriptRunner.LocalAddress, ScriptRunner.RemoteAddress, IpProtocol.Tcp, (int)(e.End - e.Start) + 20).Write(quoted);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(20), localPort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(22), remotePort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(quoted.AsSpan(24), isn + e.Start);
        var message = new byte[IcmpPacket.HeaderLength + quoted.Length];
        quoted.CopyTo(message, IcmpPacket.HeaderLength);
        new IcmpRepr(e.Type, e.Code, e.Mtu ?? 0u, quoted.Length).Write(message);
        Send(IpProtocol.Icmp, message);
        log.AppendLine($"{Since(scene.Now):0.000} sent {e.Text}");
    }

    private ushort ipId = 1;

    private void Send(IpProtocol protocol, byte[] payload)
    {
        var ip = new Ipv4Repr(ScriptRunner.RemoteAddress, ScriptRunner.LocalAddress, protocol, payload.Length, 64, ipId++);
        var frame = new byte[Math.Max(EthernetRepr.HeaderLength + ip.TotalLength, 60)];
        new EthernetRepr(KernelScene.KernelMac, KernelScene.GatewayMac, EtherType.Ipv4).Write(frame);
        ip.Write(frame.AsSpan(EthernetRepr.HeaderLength));
        payload.CopyTo(frame, EthernetRepr.HeaderLength + Ipv4Repr.HeaderLength);
        scene.Send(frame);
        lastInjection = scene.Now;
    }

    // ---- calls ----------------------------------------------------------------------------------

    private void Call(CallEvent c)
    {
        (long result, int errno) = c.Name switch
        {
            "socket" => Socket(),
            "fcntl" => (0, 0), // every kernel socket here is non-blocking already, as the runner's
            "setsockopt" => SetSockOpt(c),
            "bind" => KernelSockets.Bind(Fd(c), 0, ServerPort),
            "listen" => KernelSockets.Listen(Fd(c), int.Parse(c.Arguments[1])),
            "accept" => Accept(c),
            "connect" => Connect(c),
            "write" or "send" => KernelSockets.Write(Fd(c), int.Parse(c.Arguments[2])),
            "read" or "recv" => Retrying(c, () => KernelSockets.Read(Fd(c), int.Parse(c.Arguments[2]))),
            "shutdown" => KernelSockets.Shutdown(Fd(c), c.Arguments[1] switch { "SHUT_RD" => KernelSockets.SHUT_RD, "SHUT_WR" => KernelSockets.SHUT_WR, _ => KernelSockets.SHUT_RDWR }),
            "close" => Close(c),
            "getsockopt" => GetSockOpt(c),
            _ => throw new NotSupportedException($"line {c.Line}: the differential runner does not know the call '{c.Name}'"),
        };
        string name = errno == 0 ? "" : " " + ((Errno)errno).ToString();
        string text = $"{c.Name} = {result}{name}";
        if (result != c.Result || (c.Errno is not null && ((Errno)errno).ToString() != c.Errno))
            Add(c, Aspect.Call, text, $"{c.Name} returned {result}{name}, expected {c.Result}{(c.Errno is null ? "" : " " + c.Errno)}");
        log.AppendLine($"{Since(scene.Now):0.000} call {c.Text}   [linux: {text}]");
    }

    private int Fd(CallEvent c) => descriptors.TryGetValue(int.Parse(c.Arguments[0]), out var fd) ? fd : -1;

    private (long, int) Socket()
    {
        var (fd, errno) = KernelSockets.Socket();
        if (fd < 0) return (fd, errno);
        // Per socket, whatever the namespace's default: CUBIC is UserStack's default congestion control.
        if (KernelSockets.SetString((int)fd, KernelSockets.IPPROTO_TCP, KernelSockets.TCP_CONGESTION, "cubic") is (< 0, var e))
            throw new InvalidOperationException($"setsockopt TCP_CONGESTION cubic failed: {(Errno)e}");
        int scriptFd = nextDescriptor++;
        descriptors[scriptFd] = (int)fd;
        return (scriptFd, 0);
    }

    /// <summary>accept(2) and read(2) on non-blocking sockets: retried for a moment when the script expects data or a connection.</summary>
    private (long, int) Retrying(CallEvent c, Func<(long, int)> call)
    {
        double until = scene.Now + CallRetry;
        while (true)
        {
            var r = call();
            if (r.Item2 != (int)Errno.EAGAIN || c.Result < 0 || scene.Now >= until) return r;
            Thread.Sleep(1);
        }
    }

    private (long, int) Accept(CallEvent c)
    {
        var (fd, errno) = Retrying(c, () => KernelSockets.Accept(Fd(c)));
        if (fd < 0) return (fd, errno);
        int scriptFd = nextDescriptor++;
        descriptors[scriptFd] = (int)fd;
        return (scriptFd, 0);
    }

    private (long, int) Connect(CallEvent c)
    {
        int fd = Fd(c);
        var r = KernelSockets.Connect(fd, ScriptRunner.RemoteAddress.Value, ServerPort);
        localPort = KernelSockets.LocalPort(fd);
        remotePort = ServerPort;
        return r;
    }

    private (long, int) Close(CallEvent c)
    {
        int key = int.Parse(c.Arguments[0]);
        var r = KernelSockets.Close(Fd(c));
        descriptors.Remove(key);
        return r;
    }

    /// <summary>The options ScriptRunner knows, with Linux's names: "newreno" is Linux's "reno".</summary>
    private (long, int) SetSockOpt(CallEvent c)
    {
        int fd = Fd(c);
        var value = c.Arguments[3].Trim('[', ']', '"');
        int number = int.TryParse(value, out var n) ? n : 0;
        return c.Arguments[2] switch
        {
            "SO_REUSEADDR" => KernelSockets.SetInt(fd, KernelSockets.SOL_SOCKET, KernelSockets.SO_REUSEADDR, number),
            "SO_KEEPALIVE" => KernelSockets.SetInt(fd, KernelSockets.SOL_SOCKET, KernelSockets.SO_KEEPALIVE, number),
            "TCP_NODELAY" => KernelSockets.SetInt(fd, KernelSockets.IPPROTO_TCP, KernelSockets.TCP_NODELAY, number),
            "TCP_KEEPIDLE" => KernelSockets.SetInt(fd, KernelSockets.IPPROTO_TCP, KernelSockets.TCP_KEEPIDLE, number),
            "TCP_KEEPINTVL" => KernelSockets.SetInt(fd, KernelSockets.IPPROTO_TCP, KernelSockets.TCP_KEEPINTVL, number),
            "TCP_KEEPCNT" => KernelSockets.SetInt(fd, KernelSockets.IPPROTO_TCP, KernelSockets.TCP_KEEPCNT, number),
            "TCP_CONGESTION" => KernelSockets.SetString(fd, KernelSockets.IPPROTO_TCP, KernelSockets.TCP_CONGESTION, value == "newreno" ? "reno" : value),
            var other => throw new NotSupportedException($"line {c.Line}: setsockopt {other} is not supported by the differential runner"),
        };
    }

    /// <summary>getsockopt(fd, SOL_SOCKET, SO_ERROR, [ERRNO], [4]): a different pending error is a different result.</summary>
    private (long, int) GetSockOpt(CallEvent c)
    {
        if (c.Arguments[2] != "SO_ERROR") throw new NotSupportedException($"line {c.Line}: getsockopt {c.Arguments[2]} is not supported");
        var r = KernelSockets.GetInt(Fd(c), KernelSockets.SOL_SOCKET, KernelSockets.SO_ERROR, out int error);
        if (r.Item1 < 0) return r;
        var expected = c.Arguments[3].Trim('[', ']');
        string actual = error == 0 ? "0" : ((Errno)error).ToString();
        if (actual != expected) Add(c, Aspect.Call, $"SO_ERROR {actual}", $"SO_ERROR is {actual}, expected {expected}");
        return r;
    }

    // ---- reading what the kernel sent ------------------------------------------------------------

    private static bool TryRead(byte[] frame, out TcpRepr segment)
    {
        segment = default;
        if (!Ipv4Packet.TryRead(frame.AsSpan(14), out var ip, out _) || ip.Protocol != IpProtocol.Tcp) return false;
        if (!TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out _)) return false;
        segment = seg.ToRepr();
        return true;
    }

    private string Describe(byte[] frame)
    {
        if (!Ipv4Packet.TryRead(frame.AsSpan(14), out var ip, out _) || !TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out var why))
            return $"a frame of {frame.Length} bytes that does not parse";
        var s = seg.ToRepr();
        uint isn = localIsn ?? s.Sequence.Value;
        uint first = s.Sequence.Value - isn;
        var ack = (s.Flags & TcpFlags.Ack) != 0 ? $" ack {s.Acknowledgment.Value - RemoteIsn}" : "";
        var options = seg.OptionBytes.Length > 0 ? " " + ScriptRunner.DescribeOptions(seg.OptionBytes, RemoteIsn) : "";
        return $"> {Flags(s.Flags)} {first}:{first + (uint)s.PayloadLength}({s.PayloadLength}){ack} win {s.Window}{options}";
    }

    private static string Flags(TcpFlags f) => ScriptRunner.Flags(f);
}
