using System.Diagnostics;
using UserStack.Drivers.Tap;
using UserStack.Sockets.Daemons;
using UserStack.Tcp;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Benchmarks.Macro.ConnMemory;

/// <summary>
/// RSS of the stack's process (this one: the stack runs in-process over a TAP in a namespace made
/// here) with many idle connections and after many closed ones, against issue 12's goals: 10,000
/// idle connections in at most 64 MB over the base, RSS back within 100 MB of its start after
/// 5,000 closed connections. The client is a Python process in the namespace (conn_client.py),
/// so its memory is not counted. No forced GC: what the runtime keeps is what a user would see.
/// </summary>
public static class ConnMemoryMacro
{
    private const string Host = "10.96.0.2";

    /// <summary>Each phase in a process of its own (this program again), so that neither inherits the other's heap.</summary>
    public static int Run(int idle, int closed)
    {
        if (!TapDevice.IsAvailable(out var reason)) { Console.Error.WriteLine($"conn-memory: {reason}"); return 2; }
        if (!File.Exists("/usr/bin/python3")) { Console.Error.WriteLine("conn-memory: needs /usr/bin/python3"); return 2; }
        var rows = new List<string>();
        // Each phase twice: with the GC ustack runs with (server GC with DATAS, ustack.csproj), then with
        // the runtime's default workstation GC, which sizes gen0 from the L3 cache the CPU reports (300 MiB
        // on this VM) and commits ~80 MiB of gen0 whatever it keeps alive (see Benchmarks/README.md).
        foreach (var (phase, n, workstation) in new[] { ("idle", idle, false), ("closed", closed, false), ("idle", idle, true), ("closed", closed, true) })
        {
            var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
            // Started as `dotnet Benchmarks.dll` the process is dotnet: the child needs the assembly too.
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") info.ArgumentList.Add(typeof(ConnMemoryMacro).Assembly.Location);
            foreach (var a in new[] { "conn-memory-phase", phase, n.ToString() }) info.ArgumentList.Add(a);
            if (workstation) info.Environment["DOTNET_gcServer"] = "0";
            else info.Environment.Remove("DOTNET_gcServer");
            using var child = Process.Start(info)!;
            var output = child.StandardOutput.ReadToEndAsync();
            if (!child.WaitForExit(300_000)) { child.Kill(entireProcessTree: true); Console.Error.WriteLine($"conn-memory: the {phase} phase timed out"); return 1; }
            foreach (var line in output.Result.Split('\n'))
                if (line.StartsWith("| ")) rows.Add(line); else if (line.Length > 0) Console.WriteLine(line);
            if (child.ExitCode != 0) { Console.Error.WriteLine($"conn-memory: the {phase} phase failed ({child.ExitCode})"); return 1; }
        }
        Console.WriteLine();
        Console.WriteLine($"| {"phase (RSS of the stack's process)",-52} | {"RSS MiB",8} | note");
        Console.WriteLine($"|{new string('-', 54)}|{new string('-', 10)}|{new string('-', 60)}");
        foreach (var r in rows) Console.WriteLine(r);
        Console.WriteLine("\nGC: first ustack's (server GC with DATAS, ustack.csproj), then the runtime's default workstation GC (DOTNET_gcServer=0), whose gen0 budget follows the L3 size the CPU reports");
        return 0;
    }

    /// <summary>One phase: a scene of its own, its base RSS, then N idle connections or N closed ones.</summary>
    public static int RunPhase(string phase, int n)
    {
        int id = Environment.ProcessId % 10000;
        using var scene = TapScene.Start(new SceneOptions
        {
            TapName = $"usmem{id}",
            Namespace = $"usmem-{Environment.ProcessId}",
            StackAddress = Ipv4Cidr.Parse($"{Host}/24"),
            HostAddress = Ipv4Cidr.Parse("10.96.0.1/24"),
        });
        using var daemons = new TcpDaemons(scene.Host, [DaemonKind.Discard, DaemonKind.Http]);
        Thread.Sleep(1000);
        double baseRss = RssMib();
        Row($"base ({phase} phase, {(System.Runtime.GCSettings.IsServerGC ? "server GC, DATAS" : "workstation GC")})", baseRss, Heap());
        if (phase == "idle") Idle(scene, n, baseRss); else Closed(scene, n, baseRss);
        return 0;
    }

    private static void Row(string name, double mib, string note) => Console.WriteLine($"| {name,-52} | {mib,8:0.0} | {note}");

    /// <summary>N established connections to the discard daemon that send nothing.</summary>
    private static void Idle(TapScene scene, int idle, double baseRss)
    {
        using var client = Client(scene, "idle", idle, 9);
        var line = ReadLine(client, TimeSpan.FromSeconds(30 + idle / 100));
        if (line is null || !line.StartsWith("open ")) throw new InvalidOperationException($"idle client: {line ?? "timed out"}: {client.StandardError.ReadToEnd()}");
        WaitFor(() => Count(scene, TcpState.Established) >= idle, TimeSpan.FromSeconds(10));
        Thread.Sleep(1000);
        double rss = RssMib();
        int established = Count(scene, TcpState.Established);
        double perConnection = (rss - baseRss) * 1024 * 1024 / Math.Max(established, 1);
        Row($"{established:N0} idle established connections", rss,
            $"+{rss - baseRss:0.0} MiB over base, {perConnection:N0} B each (goal: 64 MB over base); {Heap()}");
        HeapDump("idle");
        client.StandardInput.WriteLine();
        client.StandardInput.Flush();
        ReadLine(client, TimeSpan.FromSeconds(60));
        client.WaitForExit(30_000);
    }

    /// <summary>N HTTP/1.0 requests with Connection: close; the stack closes first and keeps TIME-WAIT.</summary>
    private static void Closed(TapScene scene, int closed, double start)
    {
        var clock = Stopwatch.StartNew();
        using (var client = Client(scene, "http", closed, 80))
        {
            var line = ReadLine(client, TimeSpan.FromSeconds(30 + closed / 50));
            if (line is null || !line.StartsWith("done ")) throw new InvalidOperationException($"http client: {line ?? "timed out"}: {client.StandardError.ReadToEnd()}");
            client.WaitForExit(10_000);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        Thread.Sleep(500);
        double inTimeWait = RssMib();
        int timeWait = Count(scene, TcpState.TimeWait);
        Row($"{closed:N0} closed connections, {timeWait:N0} in TIME-WAIT", inTimeWait,
            $"+{inTimeWait - start:0.0} MiB over base (goal: within 100 MB), {closed / seconds:N0} conn/s; {Heap()}");
        Thread.Sleep(5000);
        double settled = RssMib();
        Row("the same 5 s later (no forced GC)", settled, $"+{settled - start:0.0} MiB over base; {Heap()}");
        HeapDump("closed");
    }

    /// <summary>
    /// With USTACK_GCDUMP set to a dotnet-gcdump executable, a heap dump of this process after the
    /// phase's rows (it forces a collection, so only then) to /tmp/conn-memory-PHASE.gcdump;
    /// `dotnet-gcdump report FILE` lists the types that hold the memory.
    /// </summary>
    private static void HeapDump(string phase)
    {
        if (Environment.GetEnvironmentVariable("USTACK_GCDUMP") is not { Length: > 0 } tool) return;
        var file = $"/tmp/conn-memory-{phase}.gcdump";
        using var p = Process.Start(new ProcessStartInfo(tool, ["collect", "-p", Environment.ProcessId.ToString(), "-o", file]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000)) p.Kill();
        Console.WriteLine($"heap dump of the {phase} phase: {file}");
    }

    private static Process Client(TapScene scene, string mode, int count, int port)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "conn_client.py");
        var info = new ProcessStartInfo("ip", ["netns", "exec", scene.Namespace!.Name, "/usr/bin/python3", script, mode, count.ToString(), Host, port.ToString()])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the client");
    }

    private static string? ReadLine(Process p, TimeSpan timeout)
    {
        var read = p.StandardOutput.ReadLineAsync();
        if (read.Wait(timeout)) return read.Result;
        try { p.Kill(); } catch (InvalidOperationException) { }
        return null;
    }

    private static void WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < timeout) Thread.Sleep(100);
    }

    /// <summary>Connections in <paramref name="state"/> (null: all), TIME-WAIT and SYN-RECEIVED records included.</summary>
    private static int Count(TapScene scene, TcpState? state)
    {
        lock (scene.Host.Gate)
        {
            var rows = scene.Stack.Tcp.Connections.Select(c => c.State).Concat(RecordStates(scene)).ToList();
            return state is { } s ? rows.Count(x => x == s) : rows.Count;
        }
    }

    private static IEnumerable<TcpState> RecordStates(TapScene scene) =>
        scene.Stack.Tcp.TimeWaits.All.Select(r => r.State).Concat(scene.Stack.Tcp.HalfOpenRecords.Select(r => r.State));

    /// <summary>VmRSS of this process (the stack's), from /proc.</summary>
    private static double RssMib()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        return double.NaN;
    }

    private static string Heap()
    {
        var info = GC.GetGCMemoryInfo();
        return $"GC heap {info.HeapSizeBytes / 1048576.0:0.0} MiB, committed {info.TotalCommittedBytes / 1048576.0:0.0}";
    }
}
