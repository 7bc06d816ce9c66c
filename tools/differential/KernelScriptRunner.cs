using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using UserStack.Drill;
using UserStack.Drill.Language;
using UserStack.Sockets.Api;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Differential;

/// <summary>
/// Plays one packetdrill script against the Linux kernel with the meaning DrillRunner gives it on
/// UserStack: the same parser (UserStack.Drill.Language), packetdrill's default addresses and ports
/// (local 192.168.0.1:8080, remote 192.0.2.1:51000, or the kernel's ephemeral port to 8080 after a
/// connect), and the same script-to-live numbering (<see cref="TcpNumbering"/>): the remote ISN is
/// the first inbound SYN's number as written, the kernel's ISN is learned once (its first SYN or SYN-ACK),
/// ACK only from `.`, options built and compared in wire order, sack edges relative to the ISNs, a
/// TS ecr mapped to the TS val the kernel really sent on the `&gt;` line that named it. Relative
/// times count, as packetdrill's, from when the previous event really happened (two inbound
/// packets in a row from each other's script times).
/// Unlike DrillRunner it does not stop at the first difference: each `&gt;` line is matched with
/// what the kernel sent (segments it sent in between are "extra", a line with nothing is
/// "missing"), every difference is recorded, and the conversation goes on. Time is real: a line
/// runs at its time (late lines run at once), a `&gt;` line waits up to <see cref="Late"/> past
/// its time for the kernel's segment.
/// </summary>
internal sealed partial class KernelScriptRunner
{
    /// <summary>How far from the script's time a segment may be and still be on time (real time: scheduling jitter on a busy 2-core machine).</summary>
    public static double Tolerance { get; set; } = 0.05;
    /// <summary>How long past its time a `&gt;` line waits for the kernel.</summary>
    public static double Late { get; set; } = 0.25;
    /// <summary>How long a call that the script expects to succeed retries EAGAIN (the kernel works asynchronously to this thread).</summary>
    private const double CallRetry = 0.2;
    private const ushort RemoteEphemeralPort = 51000;

    private readonly KernelScene scene;
    private readonly string script;
    private readonly List<Difference> differences = [];
    private readonly StringBuilder log = new();
    private readonly KernelSockets kernel = new() { CongestionControl = "cubic" };
    private ScriptCalls calls = null!;
    private readonly List<KernelFrame> pending = [];
    private DrillConfig config = new(new DrillSettings());
    private TcpNumbering numbers = null!;
    private List<ScriptEvent> events = [];
    private int index;
    private double start, lastInjection;
    /// <summary>How late (real time) the last `&lt;` line or call ran after its script time: the kernel's answers to absolute-time lines are that late too.</summary>
    private double lag;
    private ushort localPort, remotePort = RemoteEphemeralPort;

    public KernelScriptRunner(KernelScene scene, string script)
    {
        this.scene = scene;
        this.script = script;
    }

    public IReadOnlyList<Difference> Differences => differences;
    public string Log => log.ToString();

    /// <summary>
    /// The script's configuration as DrillRunner reads it (its option lines); a script that needs
    /// addresses other than the ones the scene gives the kernel cannot be played here.
    /// </summary>
    public static DrillConfig Configure(Script parsed)
    {
        var config = new DrillConfig(new DrillSettings());
        foreach (var o in parsed.Options) config.Apply(o);
        if (config.Unsupported is var (line, construct)) throw new NotSupportedException($"line {line}: {construct}");
        if (config.LocalIp != KernelScene.LocalIp || config.RemoteIp != KernelScene.RemoteIp || config.GatewayIp != KernelScene.GatewayIp)
            throw new NotSupportedException("the script sets its own addresses; the kernel's scene has packetdrill's defaults");
        return config;
    }

    /// <summary>Runs the script; must be called on a thread inside the scene's namespace (socket() creates kernel sockets there).</summary>
    public void Run(string text)
    {
        var parsed = Parser.Parse(text);
        config = Configure(parsed);
        numbers = new TcpNumbering(config, new HashSet<string>());
        calls = new ScriptCalls(kernel, config, new HashSet<string>())
        {
            LocalPortChanged = port => localPort = port,
            // A descriptor the script never opened must not reach one of this process's own (EBADF tests): past any descriptor table.
            Unmapped = n => n < 0 ? (int)n : int.MaxValue - 1024 + (int)Math.Min(n, 1023),
        };
        localPort = config.BindPort;
        events = parsed.Events.ToList();
        start = scene.Now + 0.02;
        double lastAt = 0, lastHappened = 0;
        ScriptEvent? previous = null;
        try
        {
            for (index = 0; index < events.Count; index++)
            {
                var e = events[index];
                var (at, atEnd) = When(e, previous, lastAt, lastHappened);
                double gap = at - lastAt;
                if (e is PacketEvent { Direction: Direction.Outbound } expected)
                    lastHappened = Expect(expected, at, atEnd, gap, e.Time.IsRelative ? 0 : lag);
                else
                {
                    scene.SleepUntil(start + at);
                    Extras(start + at, e);
                    lag = Math.Max(0, Since(scene.Now) - at);
                    switch (e)
                    {
                        case TcpPacketEvent inbound: Inject(inbound); break;
                        case IcmpPacketEvent icmp: InjectIcmp(icmp); break;
                        case SyscallEvent { IsBlocking: true } call: CallBlocking(call, BlockingEnd(call, previous, lastAt, lastHappened)); break;
                        case SyscallEvent call: Call(call); break;
                        case CommandEvent command when Sysctls(command.Command) is { Count: > 0 } sysctls: SetSysctls(sysctls); break;
                        case CommandEvent or CodeEvent: log.AppendLine($"{Since(scene.Now):0.000} skipped {Body(e)}"); break;
                        default: throw new NotSupportedException($"line {e.Line}: the differential runner does not play {e.GetType().Name} lines");
                    }
                    // A blocking call's relative successors count from its start, as in DrillRunner.
                    lastHappened = e is SyscallEvent { IsBlocking: true } ? Math.Max(at, lastHappened) : Since(scene.Now);
                }
                lastAt = at;
                previous = e;
            }
            scene.SleepUntil(Math.Max(start + lastHappened + Late, scene.Now));
            Extras(scene.Now, null);
        }
        finally
        {
            foreach (var fd in calls.Open) kernel.Close(fd);
        }
    }

    /// <summary>
    /// packetdrill's adjust_relative_event_times, in seconds from the start: a relative time counts
    /// from when the previous event really happened, or from the previous inbound packet's script
    /// time when both are inbound packets; `*` is now.
    /// </summary>
    private (double At, double AtEnd) When(ScriptEvent e, ScriptEvent? previous, double lastAt, double lastHappened)
    {
        var t = e.Time;
        if (t.Kind == TimeKind.Any) { double now = Math.Max(lastHappened, Since(scene.Now)); return (now, now); }
        long end = t.Kind is TimeKind.AbsoluteRange or TimeKind.RelativeRange ? t.End : t.Start;
        if (t.Kind is TimeKind.Absolute or TimeKind.AbsoluteRange) return (t.Start / 1e6, end / 1e6);
        bool anchored = previous is PacketEvent { Direction: Direction.Inbound } && e is PacketEvent { Direction: Direction.Inbound };
        double offset = anchored ? lastAt : lastHappened;
        return (offset + t.Start / 1e6, offset + end / 1e6);
    }

    /// <summary>When a `START...END` call should return, in seconds from the start (END counts from where START does).</summary>
    private double BlockingEnd(SyscallEvent c, ScriptEvent? previous, double lastAt, double lastHappened)
    {
        var (at, _) = When(c, previous, lastAt, lastHappened);
        return at + (c.Time.BlockingEnd!.Value - c.Time.Start) / 1e6;
    }

    private void Add(ScriptEvent e, Aspect aspect, string linux, string detail)
    {
        differences.Add(new Difference(script, e.Line, aspect, Body(e), linux, detail));
        log.AppendLine($"  line {e.Line}: {aspect}: {detail}  [linux: {linux}]");
    }

    private double Since(double sceneTime) => sceneTime - start;

    /// <summary>A line's text without its time (the table shows what the script says happens, the log when).</summary>
    private static string Body(ScriptEvent e)
    {
        var text = e.Text.Trim();
        int space = text.IndexOfAny([' ', '\t']);
        return space < 0 ? text : text[space..].TrimStart();
    }

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
    /// It is also packetdrill's own 12.5% tolerance of the gap.
    /// </summary>
    private static double Slack(double gap) => Math.Max(0, gap) / 8;

    /// <summary>Matches a `&gt;` line with what the kernel sent; returns when it happened (its script time if it did not).</summary>
    private double Expect(PacketEvent e, double at, double atEnd, double gap, double lag)
    {
        if (e is not TcpPacketEvent tcp) throw new NotSupportedException($"line {e.Line}: only TCP is compared (an outbound {e.GetType().Name})");
        double slack = Slack(gap);
        // Wait for this line's segment; once the kernel has sent something else, only a little longer.
        double deadline = start + atEnd + lag + Late + slack;
        while (!pending.Any(f => KeyMatches(f, tcp)))
        {
            double until = pending.Count == 0 ? deadline : Math.Min(deadline, Math.Max(pending[^1].At + 0.05, start + atEnd + lag + Tolerance + slack));
            if (!scene.TryTake(until, out var frame)) break;
            pending.Add(frame);
        }

        int match = pending.FindIndex(f => KeyMatches(f, tcp));
        if (match < 0 && pending.Count > 0 && LaterLineMatches(pending[0]) is { } later)
        {
            Add(e, Aspect.Missing, "nothing", $"Linux sent nothing here; its next segment ({Describe(pending[0].Bytes)}) is line {later}'s");
            return at;
        }
        if (match < 0 && pending.Count == 0)
        {
            Add(e, Aspect.Missing, "nothing", $"Linux sent nothing by {atEnd + lag + Late + slack:0.000}");
            return at;
        }
        if (match > 0)
        {
            foreach (var f in pending.Take(match))
                Add(e, Aspect.Extra, $"{Describe(f.Bytes)} at {Since(f.At):0.000}", "Linux sent a segment before this line's that the script does not");
            pending.RemoveRange(0, match);
        }
        var p = pending[0];
        pending.RemoveAt(0);
        Compare(tcp, at, atEnd, slack, lag, p);
        return Since(p.At);
    }

    /// <summary>Flags (PSH aside), relative seq, length and relative ack agree, as TcpNumbering maps them (window and options aside).</summary>
    private bool KeyMatches(KernelFrame f, TcpPacketEvent e)
    {
        if (!TryRead(f.Bytes, out var seg)) return false;
        var flags = TcpNumbering.FlagsOf(e);
        // PSH aside: it is advisory (RFC 9293 3.9.1), and a PSH difference is still reported by Compare.
        if ((seg.Flags & ~TcpFlags.Psh) != (flags & ~TcpFlags.Psh) || seg.Length != e.Length) return false;
        if (!numbers.AckMatches(seg.Flags, seg.Ack, flags, e)) return false;
        // A SYN's number is the kernel's ISN: it teaches it rather than being checked.
        return (seg.Flags & TcpFlags.Syn) != 0 || numbers.SequenceMatches(seg.Flags, seg.Seq, e);
    }

    /// <summary>The line of a later `&gt;` in the run of `&gt;` lines that follows, if the frame is that one's.</summary>
    private int? LaterLineMatches(KernelFrame f)
    {
        for (int i = index + 1; i < events.Count && events[i] is PacketEvent { Direction: Direction.Outbound } later; i++)
            if (later is TcpPacketEvent tcp && KeyMatches(f, tcp)) return later.Line;
        return null;
    }

    private void Compare(TcpPacketEvent e, double at, double atEnd, double slack, double lag, KernelFrame p)
    {
        if (!TryRead(p.Bytes, out var seg)) { Add(e, Aspect.Segment, $"{Describe(p.Bytes)} at {Since(p.At):0.000}", "Linux sent a segment our parser refuses"); return; }
        // The ISN first, as DrillRunner does: a SYN's number tells it, and the segment is then described in the script's terms.
        numbers.LearnOutbound(seg.Flags, seg.Seq, e);
        if ((seg.Flags & TcpFlags.Syn) != 0 && (seg.Flags & TcpFlags.Ack) == 0) localPort = seg.SourcePort; // an active open: the kernel's port
        string linux = $"{Describe(p.Bytes)} at {Since(p.At):0.000}";
        var flags = TcpNumbering.FlagsOf(e);
        var problems = new List<string>();
        if (seg.Flags != flags) problems.Add($"flags {TcpNumbering.FlagText(seg.Flags)} instead of {TcpNumbering.FlagText(flags)}");
        if (!numbers.SequenceMatches(seg.Flags, seg.Seq, e)) problems.Add($"seq {numbers.SeqInScript(seg.Flags, seg.Seq)} instead of {e.Start}");
        if (seg.Length != e.Length) problems.Add($"{seg.Length} bytes instead of {e.Length}");
        if (!numbers.AckMatches(seg.Flags, seg.Ack, flags, e)) problems.Add($"ack {numbers.AckInScript(seg.Flags, seg.Ack)} instead of {e.Ack ?? 0}");
        if (seg.Urgent != (e.Urgent ?? 0)) problems.Add($"urg {seg.Urgent} instead of {e.Urgent ?? 0}");
        if (problems.Count > 0) Add(e, Aspect.Segment, linux, string.Join("; ", problems));
        if (e.Window is { } win && seg.Window != win) Add(e, Aspect.Window, linux, $"win {seg.Window} instead of {win}");
        if (e.Options is { } expected)
        {
            var optionProblems = new List<string>();
            numbers.CompareOptions(expected, seg.Options, (seg.Flags & TcpFlags.Syn) != 0, optionProblems);
            if (optionProblems.Count > 0) Add(e, Aspect.Options, linux, string.Join("; ", optionProblems));
        }
        // On time within the tolerance (and the gap's eighth), counted from when the line's time is anchored.
        double sent = Since(p.At), early = at - sent, late = sent - atEnd - lag;
        if (late > Tolerance + slack || early > Tolerance + slack)
        {
            double offset = sent - at;
            Add(e, Aspect.Timing, linux, $"sent at {sent:0.000}, the script's time is {at:0.000} ({(offset > 0 ? "+" : "")}{offset * 1000:0} ms{(lag > 0.001 ? $", our lag {lag * 1000:0} ms" : "")})");
        }
        log.AppendLine($"{at:0.000} {(problems.Count == 0 ? "ok  " : "diff")} {Body(e)}   [linux: {linux}]");
    }

    // ---- reading what the kernel sent ------------------------------------------------------------

    /// <summary>The fields of a segment the kernel sent (TcpSegment is a view over the frame; this outlives it).</summary>
    private readonly record struct Live(TcpFlags Flags, uint Seq, uint Ack, ushort Window, ushort Urgent, int Length, ushort SourcePort, byte[] Options);

    private static bool TryRead(byte[] frame, out Live segment)
    {
        segment = default;
        if (!Ipv4Packet.TryRead(frame.AsSpan(EthernetRepr.HeaderLength), out var ip, out _) || ip.Protocol != IpProtocol.Tcp) return false;
        if (!TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out _)) return false;
        segment = new Live(seg.Flags, seg.Sequence.Value, seg.Acknowledgment.Value, seg.Window, seg.UrgentPointer, seg.Payload.Length, seg.SourcePort, seg.OptionBytes.ToArray());
        return true;
    }

    /// <summary>A segment the kernel sent, as a `&gt;` line would say it (TcpNumbering.Describe: the same terms as DrillRunner's messages).</summary>
    private string Describe(byte[] frame)
    {
        if (!Ipv4Packet.TryRead(frame.AsSpan(EthernetRepr.HeaderLength), out var ip, out _) || !TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out _))
            return $"a frame of {frame.Length} bytes that does not parse";
        return numbers.Describe(seg);
    }

    /// <summary>The net.ipv4.tcp_* settings of a script's `sysctl` shell line (as DrillConfig reads them for UserStack).</summary>
    private static List<string> Sysctls(string command) =>
        command.Split([';', '\n', '&', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.StartsWith("sysctl ", StringComparison.Ordinal))
            .SelectMany(p => p.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Skip(1))
            .Where(w => w.StartsWith("net.ipv4.tcp_", StringComparison.Ordinal) && w.Contains('='))
            .ToList();

    /// <summary>Sets them in the script's own namespace (per-namespace sysctls; the namespace goes with the script).</summary>
    private void SetSysctls(List<string> sysctls)
    {
        var set = scene.Namespace.Exec(TimeSpan.FromSeconds(20), "sysctl", ["-q", "-w", .. sysctls]);
        log.AppendLine($"{Since(scene.Now):0.000} sysctl {string.Join(' ', sysctls)}{(set.Succeeded ? "" : " failed: " + set.Error.Trim())}");
    }
}
