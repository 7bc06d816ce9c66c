using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace UserStack.Attack;

/// <summary>One attack: programs run one after the other, each bounded by `timeout`, the whole by <see cref="Bound"/>.</summary>
internal sealed class Phase(string name, TimeSpan bound, params string[][] commands)
{
    public string Name { get; } = name;
    public TimeSpan Bound { get; } = bound;
    public string[][] Commands { get; } = commands;
    public string Output { get; set; } = "";

    public RunningPhase Start() => new(Commands);
}

internal sealed class RunningPhase : IDisposable
{
    private readonly Thread thread;
    private readonly StringBuilder output = new();
    private Process? current;
    private volatile bool done, killed;

    public RunningPhase(string[][] commands)
    {
        thread = new Thread(() =>
        {
            foreach (var c in commands)
            {
                if (killed) break;
                var info = new ProcessStartInfo(c[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in c.Skip(1)) info.ArgumentList.Add(a);
                try
                {
                    using var p = current = Process.Start(info)!;
                    var err = p.StandardError.ReadToEndAsync();
                    var text = p.StandardOutput.ReadToEnd();
                    p.WaitForExit();
                    lock (output) output.Append($"$ {string.Join(' ', c)}\n{text}{err.Result}(exit {p.ExitCode})\n");
                }
                catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
                {
                    lock (output) output.Append($"$ {string.Join(' ', c)}\ncannot run: {e.Message}\n");
                }
            }
            done = true;
        }) { IsBackground = true };
        thread.Start();
    }

    public bool HasExited => done;
    public string Output { get { lock (output) return output.ToString(); } }

    public void WaitOrKill(TimeSpan timeout)
    {
        if (thread.Join(timeout)) return;
        killed = true;
        try { current?.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        thread.Join(TimeSpan.FromSeconds(5));
    }

    public void Dispose() => WaitOrKill(TimeSpan.Zero);
}

internal static class Attacks
{
    /// <summary>The attacks in turn; their time budgets add up to <paramref name="seconds"/> (each flood a quarter, at most 10 s).</summary>
    public static List<Phase> Plan(int seconds, string tap, string ip, string mac, string? malformedScript)
    {
        // The SYN flood and the fragment flood get 10 s each once the budget allows (issue 10's acceptance); the rest share what is left.
        int syn = Math.Min(10, seconds / 4), frag = Math.Min(10, seconds / 4), rest = seconds - syn - frag;
        int ping = rest / 3, nmap = rest / 3, malformed = rest - ping - nmap;
        string S(double s) => s.ToString("0.#", CultureInfo.InvariantCulture);
        string[] Timeout(double s, params string[] command) => ["timeout", "-s", "INT", "-k", "2", S(s), .. command];
        var list = new List<Phase>
        {
            new("syn-flood", TimeSpan.FromSeconds(syn + 3), Timeout(syn, "hping3", "-q", "-S", "--flood", "--rand-source", "-p", "7", ip)),
            // ICMP echo split into 512-byte fragments: dropped and counted until reassembly lands, then reassembled within its caps.
            new("fragment-flood", TimeSpan.FromSeconds(frag + 3), Timeout(frag, "hping3", "-q", "-1", "--flood", "-f", "-m", "512", "-d", "1400", ip)),
            new("ping-flood", TimeSpan.FromSeconds(ping + 3), Timeout(ping + 1, "ping", "-q", "-f", "-w", S(ping), ip)),
            new("nmap", TimeSpan.FromSeconds(nmap + 8),
                Timeout(nmap / 2.0 + 2, "nmap", "-n", "-Pn", "-sS", "-O", "-p", "1-100", "--max-retries", "1", "--host-timeout", S(nmap / 2.0) + "s", ip),
                Timeout(nmap / 6.0 + 2, "nmap", "-n", "-Pn", "-sF", "-p", "1-100", "--max-retries", "1", "--host-timeout", S(nmap / 6.0) + "s", ip),
                Timeout(nmap / 6.0 + 2, "nmap", "-n", "-Pn", "-sX", "-p", "1-100", "--max-retries", "1", "--host-timeout", S(nmap / 6.0) + "s", ip),
                Timeout(nmap / 6.0 + 2, "nmap", "-n", "-Pn", "-sU", "-p", "7,9,13,19,53,161", "--max-retries", "1", "--host-timeout", S(nmap / 6.0) + "s", ip)),
        };
        if (malformedScript is not null)
            list.Add(new("malformed", TimeSpan.FromSeconds(malformed + 8), Timeout(malformed + 5, "/usr/bin/python3", malformedScript, tap, mac, ip, S(malformed), "20000")));
        return list;
    }
}
