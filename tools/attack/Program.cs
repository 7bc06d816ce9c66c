using System.Diagnostics;
using System.Globalization;
using System.Net;
using UserStack.Attack;

// tools/attack.sh's driver. It runs inside the private network namespace the script created:
// starts `ustack up` there, keeps an echo session, a bulk transfer and new-connection probes going,
// runs each attack in turn (bounded in time) and reports RSS, drops by reason and latencies.
var options = Arguments.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: attack --ustack PATH/ustack.dll --netns NAME [--seconds N] [--tap NAME]");
    return 2;
}
var stackIp = IPAddress.Parse("10.77.0.2");
using var ustack = new UstackProcess(options.Ustack,
    ["--tap", options.Tap, "--ip", "10.77.0.2/24", "--host-ip", "10.77.0.1/24", "--netns", options.Namespace, "--daemons", "echo,discard,chargen"]);
if (!ustack.WaitReady(TimeSpan.FromSeconds(60)))
{
    Console.Error.WriteLine("attack: ustack up did not become ready:\n" + ustack.Output);
    return 2;
}
Console.WriteLine(ustack.Ready);
string mac = ustack.Ready!.Split(' ').First(w => w.StartsWith("mac=")).Substring(4);

var phases = Attacks.Plan(options.Seconds, options.Tap, "10.77.0.2", mac, options.Malformed);
var live = new LiveSessions(stackIp);
live.Start();
Thread.Sleep(1000); // the sessions are up and the JIT is warm
double rssStart = ustack.RssMiB();
var before = ustack.Counters();
live.TakePhase();
var report = new Report(rssStart);
bool failed = live.EchoFailure is not null;

foreach (var phase in phases)
{
    var rssBefore = ustack.RssMiB();
    long tapDroppedBefore = TapDropped(options.Tap);
    var probes = new List<(double At, string? Failure, double Ms)>();
    var clock = Stopwatch.StartNew();
    using (var run = phase.Start())
    {
        // New connections during the attack: one a second, after the first half second.
        Thread.Sleep(500);
        while (!run.HasExited && clock.Elapsed < phase.Bound)
        {
            var failure = LiveSessions.TryNewConnection(stackIp, out var ms);
            probes.Add((clock.Elapsed.TotalSeconds, failure, ms));
            Thread.Sleep(Math.Max(0, 1000 - (int)(double.IsNaN(ms) ? 1000 : ms)));
        }
        run.WaitOrKill(phase.Bound + TimeSpan.FromSeconds(5));
        phase.Output = run.Output;
    }
    double seconds = clock.Elapsed.TotalSeconds;
    Thread.Sleep(200);
    var afterFailure = LiveSessions.TryNewConnection(stackIp, out var afterMs);
    var pingFailure = FragmentedPing(stackIp);
    var (worstEcho, bulkBytes) = live.TakePhase();
    var counters = ustack.Counters();
    var result = new PhaseResult(phase.Name, seconds, rssBefore, ustack.RssMiB(), worstEcho, bulkBytes,
        probes, afterFailure, afterMs, Report.Drops(before, counters), Report.Delta(before, counters, "TcpSynCookiesSent"),
        Report.Delta(before, counters, "FramesReceived"), TapDropped(options.Tap) - tapDroppedBefore)
    {
        PingAfterFailure = pingFailure,
        ReassemblyMemory = counters.GetValueOrDefault("Ipv4ReassemblyMemory", -1),
        ReassemblyMemoryCap = counters.GetValueOrDefault("Ipv4ReassemblyMemoryCap", -1),
    };
    before = counters;
    report.Add(result);
    Console.WriteLine(result.Line());
    if (!result.Passed) failed = true;
    if (ustack.HasExited) { Console.WriteLine("ustack up exited during the attack"); failed = true; break; }
}

live.Dispose();
Console.WriteLine();
report.Print(ustack.RssMiB(), live.EchoFailure);
ustack.Stop();
var tail = ustack.Output.ToString();
int internalErrors = tail.Contains("internal errors:") ? 1 : 0;
if (internalErrors > 0) { Console.WriteLine(tail[tail.IndexOf("internal errors:")..].Split('\n')[0]); failed = true; }
Console.WriteLine(failed ? "attack: FAILED (a live session stalled more than 1 s, a new connection failed, or the stack had internal errors)" : "attack: passed");
return failed ? 1 : 0;

// After each attack: three pings of 4,000 bytes (three fragments each, reassembled by the stack) all answered; null when they were.
static string? FragmentedPing(IPAddress stack)
{
    var start = new ProcessStartInfo("timeout", ["10", "ping", "-q", "-n", "-c", "3", "-i", "0.2", "-W", "2", "-s", "4000", stack.ToString()])
        { RedirectStandardOutput = true, RedirectStandardError = true };
    using var ping = Process.Start(start)!;
    string output = ping.StandardOutput.ReadToEnd() + ping.StandardError.ReadToEnd();
    ping.WaitForExit();
    return ping.ExitCode == 0 && output.Contains(" 0% packet loss") ? null
        : "ping -s 4000 after the attack: " + (output.Split('\n').FirstOrDefault(l => l.Contains("packet loss"))?.Trim() ?? $"exit {ping.ExitCode}");
}

// Frames the kernel could not hand to the stack because the TAP's queue was full (the stack read too slowly).
static long TapDropped(string tap) =>
    long.TryParse(File.Exists($"/sys/class/net/{tap}/statistics/tx_dropped") ? File.ReadAllText($"/sys/class/net/{tap}/statistics/tx_dropped").Trim() : "", out var n) ? n : -1;

internal sealed record Arguments(string Ustack, string Namespace, int Seconds, string Tap, string? Malformed)
{
    public static Arguments? Parse(string[] args)
    {
        string? ustack = null, ns = null, tap = "usatk0", malformed = null;
        int seconds = 30;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--ustack": ustack = args[i + 1]; break;
                case "--netns": ns = args[i + 1]; break;
                case "--tap": tap = args[i + 1]; break;
                case "--malformed": malformed = args[i + 1]; break;
                case "--seconds" when int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is >= 10 and <= 600: seconds = s; break;
                default: return null;
            }
        }
        return ustack is null || ns is null ? null : new(ustack, ns, seconds, tap, malformed);
    }
}
