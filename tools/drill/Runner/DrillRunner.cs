using System.Globalization;
using System.Text;
using UserStack.Drill.Language;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Drill;

/// <summary>
/// Plays one packetdrill script against a UserStack on a virtual clock, the way packetdrill plays
/// it against a kernel (run.c, run_packet.c, run_system_call.c): the script is the remote host;
/// `&lt;` packets are injected at their times, `&gt;` packets must leave the stack within the
/// tolerance (4 ms, or 12.5% of the gap since the previous event when that is more), and system
/// calls go through UserStack's real descriptor API (<see cref="BsdSockets"/>), blocking ones on
/// a thread of their own. Relative times count from when the previous event really happened,
/// except that consecutive inbound packets are anchored to each other's script times.
/// Sequence numbers are relative as packetdrill maps them: inbound SYNs carry the script's
/// number as is and later segments count from it; the stack's are relative to its ISN.
/// Stricter than packetdrill in two ways, both written down in docs/conformance.md: a packet the
/// stack sends before an inbound or call event it was not expected by is an error at once (and
/// within the tolerance after the last event), and a `TS ecr` on a `&gt;` line is compared.
/// </summary>
public sealed partial class DrillRunner : IDisposable
{
    private static readonly MacAddress LocalMac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:00:02");

    private readonly Script script;
    private readonly DrillConfig config;
    private readonly string? scriptDirectory;
    private readonly IReadOnlySet<string> relax;
    private readonly VirtualClock clock;
    private readonly ScriptDevice device;
    private readonly StackHost host;
    private readonly BsdSockets api;
    private readonly ScriptCalls calls;
    private readonly Instant start = Instant.FromMilliseconds(1000);
    private readonly StringBuilder log = new();

    private ScriptEvent? lastEvent;
    private long lastEventUsecs;          // the previous event's time in script space, after adjustment
    private SyscallWorker? blocking;      // a `...` call still waiting in the stack
    private (SyscallEvent Event, long StartUsecs, long EndUsecs)? blockingCall;

    public DrillRunner(Script script, DrillSettings settings, string? scriptDirectory = null)
    {
        this.script = script;
        this.scriptDirectory = scriptDirectory;
        relax = settings.Relax;
        config = new DrillConfig(settings);
        foreach (var o in script.Options) config.Apply(o);
        if (script.InitCommand is { } init) config.ApplyCommand(init.Line, init.Command, scriptDirectory);
        // Sysctls are read before the stack exists: scripts set them first (defaults.sh, FreeBSD's preambles).
        foreach (var c in script.Events.OfType<CommandEvent>()) config.ApplyCommand(c.Line, c.Command, scriptDirectory);
        if (settings.Tolerance is { } t) config.ToleranceOverride(t);
        clock = new VirtualClock(start);
        device = new ScriptDevice(clock);
        host = new StackHost(new StackOptions
        {
            HardwareAddress = LocalMac,
            Address = new Ipv4Cidr(config.LocalIp, config.PrefixLength),
            Gateway = config.GatewayIp,
            Mtu = config.Mtu,
            Secret = [7],
            Tcp = config.Tcp,
        }, device, clock: clock);
        if (settings.Trace) host.Stack.Trace = new LogTrace(log, start);
        host.Start();
        // The gateway introduces itself, so that no ARP stands between the script and TCP.
        host.Inject(Frames.Arp(ArpOperation.Request, GatewayMac, config.GatewayIp, MacAddress.Zero, config.LocalIp, LocalMac));
        while (device.TryTake(out _)) { }
        device.TakeArpRequest();
        api = new BsdSockets(host);
        calls = new ScriptCalls(new UserStackCalls(api), config, relax)
        {
            LocalPortChanged = port => localPort = port,
            RemotePortChanged = port => remotePort = port,
        };
    }

    public string Log => log.ToString();

    /// <summary>The stack's trace into the log, timed from the script's start like the event lines.</summary>
    private sealed class LogTrace(StringBuilder log, Instant start) : UserStack.Diagnostics.ITraceSink
    {
        private readonly UserStack.Diagnostics.TraceFormatter formatter = new();
        public void Write(UserStack.Diagnostics.TraceEvent e)
        {
            var r = formatter.Format(e);
            log.Append("      ").AppendLine(UserStack.Diagnostics.TraceText.Line(r with { Time = r.Time - start.Microseconds / 1e6 }));
        }
    }
    public IReadOnlyList<string> Warnings => config.Warnings;
    public StackHost Host => host;

    public static Outcome Run(Script script, DrillSettings settings, string? scriptDirectory = null)
    {
        using var runner = new DrillRunner(script, settings, scriptDirectory);
        return runner.Run();
    }

    public Outcome Run()
    {
        if (config.Unsupported is var (line, construct)) return new Outcome(Verdict.Unsupported, $"line {line}: {construct}", config.Warnings, "");
        ScriptEvent? current = null;
        try
        {
            if (script.Events.Count > 0 && script.Events[0].Time is { Kind: TimeKind.Absolute or TimeKind.Relative, Start: not 0 })
                throw new DrillFailure("first event should be at time 0");
            foreach (var e in script.Events)
            {
                current = e;
                Step(e);
                if (host.Stack.Tcp.CheckInvariants(host.Now) is { } broken) throw new DrillFailure($"invariant broken: {broken}");
                log.AppendLine(CultureInfo.InvariantCulture, $"{Seconds(host.Now - start)} ok   {e.Text}");
                lastEvent = e;
            }
            current = null;
            Finish();
            return new Outcome(Verdict.Pass, null, config.Warnings, log.ToString());
        }
        catch (DrillFailure f) { return new Outcome(Verdict.Fail, Where(current, f.Message), config.Warnings, log.ToString()); }
        catch (DrillUnsupported u) { return new Outcome(Verdict.Unsupported, Where(current, u.Message), config.Warnings, log.ToString()); }
    }

    private static string Where(ScriptEvent? e, string message) => e is null ? message : $"line {e.Line}: {message} ({e.Text})";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000000", CultureInfo.InvariantCulture);
    private static string Seconds(long usecs) => (usecs / 1e6).ToString("0.000000", CultureInfo.InvariantCulture);

    private long NowUsecs => (host.Now - start).Ticks / TimeSpan.TicksPerMicrosecond;

    private void Step(ScriptEvent e)
    {
        CheckBlockingCall();
        var (time, end, blockingEnd) = Adjust(e);
        switch (e)
        {
            case PacketEvent { Direction: Direction.Outbound } outbound:
                ExpectOutbound(outbound, time, end);
                break;
            case SyscallEvent call:
                WaitFor(e, time);
                RunSyscall(call, time, blockingEnd);
                break;
            case PacketEvent inbound:
                WaitFor(e, time);
                Inject(inbound);
                break;
            case CommandEvent:
                WaitFor(e, time);
                break; // applied before the stack started (DrillConfig.ApplyCommand)
            case CodeEvent code:
                WaitFor(e, time);
                config.Warnings.Add($"line {code.Line}: %{{ }}% code is Python for packetdrill's post-processing; not run");
                break;
        }
        lastEventUsecs = time;
        Settle();
    }

    /// <summary>packetdrill's adjust_relative_event_times: a relative time counts from now, or from the previous inbound packet's time when both are inbound packets.</summary>
    private (long Time, long End, long? BlockingEnd) Adjust(ScriptEvent e)
    {
        var t = e.Time;
        if (t.Kind is TimeKind.Absolute or TimeKind.AbsoluteRange) return (t.Start, t.End, t.BlockingEnd);
        bool anchored = lastEvent is PacketEvent { Direction: Direction.Inbound } && e is PacketEvent { Direction: Direction.Inbound };
        long offset = anchored ? lastEventUsecs : NowUsecs;
        return (offset + t.Start, offset + t.End, t.BlockingEnd is { } b ? offset + b : null);
    }

    private long ToleranceFor(long scriptUsecs, long sinceUsecs)
    {
        long tolerance = config.ToleranceUsecs;
        long dynamic = (long)(config.TolerancePercent / 100.0 * (scriptUsecs - sinceUsecs));
        return Math.Max(tolerance, dynamic);
    }

    /// <summary>packetdrill's verify_time: the event happened within the tolerance of its time (or range).</summary>
    private void VerifyTime(ScriptEvent e, long expected, long expectedEnd, long actual, string what)
    {
        if (e.Time.Kind == TimeKind.Any) return;
        long tolerance = ToleranceFor(expected, lastEvent is null ? 0 : lastEventUsecs);
        bool range = e.Time.Kind is TimeKind.AbsoluteRange or TimeKind.RelativeRange;
        long last = range ? expectedEnd : expected;
        if (actual < expected - tolerance || actual > last + tolerance)
            throw new DrillFailure(range
                ? $"timing error: expected {what} in time range {Seconds(expected)}~{Seconds(expectedEnd)} sec but happened at {Seconds(actual)} sec"
                : $"timing error: expected {what} at {Seconds(expected)} sec but happened at {Seconds(actual)} sec; tolerance {Seconds(tolerance)} sec");
    }

    /// <summary>Moves virtual time to the event (firing timers on the way) and checks nothing left the stack unannounced.</summary>
    private void WaitFor(ScriptEvent e, long time)
    {
        var target = start + TimeSpan.FromTicks(time * TimeSpan.TicksPerMicrosecond);
        AdvanceTo(target);
        NoUnexpectedPackets(host.Now);
        VerifyTime(e, time, time, NowUsecs, e is SyscallEvent ? "system call start" : e is PacketEvent ? "inbound packet" : "command");
    }

    /// <summary>Fires timers one deadline at a time up to <paramref name="target"/>, letting a blocked call react to each.</summary>
    private void AdvanceTo(Instant target)
    {
        while (true)
        {
            Instant next;
            lock (host.Gate) next = host.Stack.NextDeadline;
            if (next > target) break;
            StepTo(next);
        }
        if (target > host.Now) host.AdvanceTo(target);
        Settle();
    }

    private Instant lastStep;
    private int stepsWithoutProgress;

    /// <summary>Fires the timers due at <paramref name="deadline"/>; a core whose timers stop moving time on is reported, not spun on.</summary>
    private void StepTo(Instant deadline)
    {
        var at = deadline > host.Now ? deadline : host.Now;
        stepsWithoutProgress = at == lastStep ? stepsWithoutProgress + 1 : 0;
        lastStep = at;
        if (stepsWithoutProgress > 10_000) throw new DrillFailure($"the stack's timers fire again and again at {Seconds(at - start)} sec without moving on (a bug in the core)");
        host.AdvanceTo(at);
        Settle();
    }

    private void NoUnexpectedPackets(Instant upTo)
    {
        if (device.TryPeek(out var p) && p.At <= upTo)
            throw new DrillFailure($"unexpected outbound packet at {Seconds(p.At - start)} sec: {Describe(p.Frame)}");
    }

    /// <summary>Lets a woken blocking call run, answers the stack's ARP for the gateway, and checks a call that returned.</summary>
    private void Settle()
    {
        if (blocking is { Done: false } w) w.Settle();
        if (device.TakeArpRequest())
            host.Inject(Frames.Arp(ArpOperation.Reply, GatewayMac, config.GatewayIp, LocalMac, config.LocalIp, LocalMac));
        CheckBlockingCall();
    }

    private void Finish()
    {
        Settle();
        if (blocking is { Done: false })
            throw new DrillFailure($"the blocking call on line {blockingCall!.Value.Event.Line} had not returned when the script ended");
        var end = host.Now + TimeSpan.FromTicks(config.ToleranceUsecs * TimeSpan.TicksPerMicrosecond);
        AdvanceTo(end);
        NoUnexpectedPackets(end);
    }

    public void Dispose()
    {
        foreach (var fd in calls.Open) api.Close(fd);
        host.Dispose();
    }
}
