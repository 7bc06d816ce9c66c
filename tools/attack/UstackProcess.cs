using System.Diagnostics;
using System.Text;

namespace UserStack.Attack;

/// <summary>`ustack up` as a child process: its ready line, its RSS, and its counters on SIGUSR1.</summary>
internal sealed class UstackProcess : IDisposable
{
    private readonly Process process;
    private readonly object gate = new();
    private readonly List<string> block = new();
    private Dictionary<string, long>? lastBlock;
    private bool inBlock;
    private int blocks;
    public StringBuilder Output { get; } = new();

    public UstackProcess(string dll, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("up");
        foreach (var a in arguments) info.ArgumentList.Add(a);
        process = Process.Start(info)!;
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lock (gate) Output.AppendLine("stderr: " + l); };
        process.BeginErrorReadLine();
    }

    public int Id => process.Id;
    public string? Ready { get; private set; }

    /// <summary>Waits for the ready line, then reads stdout in the background.</summary>
    public bool WaitReady(TimeSpan timeout)
    {
        var line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(timeout) || line.Result is not { } ready || !ready.StartsWith("ready ")) return false;
        Ready = ready;
        new Thread(ReadLoop) { IsBackground = true, Name = "ustack-stdout" }.Start();
        return true;
    }

    private void ReadLoop()
    {
        while (process.StandardOutput.ReadLine() is { } line)
        {
            lock (gate)
            {
                Output.AppendLine(line);
                if (line.StartsWith("counters at ")) { inBlock = true; block.Clear(); continue; }
                if (!inBlock) continue;
                if (line == "end of counters")
                {
                    inBlock = false;
                    lastBlock = Parse(block);
                    blocks++;
                    Monitor.PulseAll(gate);
                    continue;
                }
                block.Add(line);
            }
        }
    }

    private static Dictionary<string, long> Parse(IEnumerable<string> lines)
    {
        var d = new Dictionary<string, long>();
        foreach (var l in lines)
        {
            var parts = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && long.TryParse(parts[1], out var v)) d[parts[0]] = v;
        }
        return d;
    }

    /// <summary>The stack's counters now (SIGUSR1 and its answer); empty if it did not answer in 5 s.</summary>
    public Dictionary<string, long> Counters()
    {
        lock (gate)
        {
            int before = blocks;
            Process.Start("kill", ["-USR1", process.Id.ToString()])!.WaitForExit();
            var until = DateTime.UtcNow.AddSeconds(5);
            while (blocks == before && DateTime.UtcNow < until) Monitor.Wait(gate, 100);
            return blocks == before ? new() : new(lastBlock!);
        }
    }

    /// <summary>Resident set size of the stack's process in MiB (/proc/PID/status VmRSS).</summary>
    public double RssMiB()
    {
        try
        {
            foreach (var l in File.ReadLines($"/proc/{process.Id}/status"))
                if (l.StartsWith("VmRSS:")) return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        }
        catch (IOException) { }
        return double.NaN;
    }

    public bool HasExited => process.HasExited;

    /// <summary>SIGINT, as a user stops it; the last counters it prints are in <see cref="Output"/>.</summary>
    public void Stop()
    {
        if (process.HasExited) return;
        Process.Start("kill", ["-INT", process.Id.ToString()])!.WaitForExit();
        if (!process.WaitForExit(TimeSpan.FromSeconds(20))) process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public void Dispose()
    {
        Stop();
        process.Dispose();
    }
}
