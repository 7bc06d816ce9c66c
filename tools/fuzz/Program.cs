using System.Diagnostics;
using System.Security.Cryptography;

namespace UserStack.Fuzz;

/// <summary>
/// The fuzz harness's command line:
///   run [--seconds N] [--execs N] [--seed N] [--jobs N] [--scripts DIR] [--findings DIR]   the built-in engine
///   afl                                    one input per run from standard input, for SharpFuzz + AFL++
///   seeds DIR [--scripts DIR]              writes the translated packetdrill scripts as a corpus
///   replay PATH...                         runs files (or every file of folders): crashes and the transition table
///   show FILE                              an input's actions, run with a log of every step
///   minimize FILE                          the smallest input that still crashes the same way, as a test case
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: fuzz run|afl|seeds|replay|show|minimize ... (see Program.cs)"); return 2; }
        return args[0] switch
        {
            "run" => Run(args),
            "afl" => Afl(),
            "seeds" => Seeds(args),
            "replay" => Replay(args[1..]),
            "show" => Show(args[1]),
            "minimize" => Minimize(args[1]),
            _ => Usage(args[0]),
        };
    }

    private static int Usage(string what) { Console.Error.WriteLine($"unknown command '{what}'"); return 2; }

    private static string? Option(string[] args, string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

    /// <summary>The scripts folder: given, or found by walking up from here to the repository.</summary>
    public static string? ScriptsDirectory(string? given)
    {
        if (given is not null) return given;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "Tests", "Packetdrill", "Scripts");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static int Run(string[] args)
    {
        double seconds = double.Parse(Option(args, "--seconds") ?? "30");
        long execs = long.Parse(Option(args, "--execs") ?? long.MaxValue.ToString());
        int seed = int.Parse(Option(args, "--seed") ?? "1");
        int jobs = int.Parse(Option(args, "--jobs") ?? "1");
        string? findingsDir = Option(args, "--findings");
        var seeds = ScriptsDirectory(Option(args, "--scripts")) is { } dir ? ScriptSeeds.FromDirectory(dir).Select(s => s.Input).ToList() : [];

        var clock = Stopwatch.StartNew();
        var engines = Enumerable.Range(0, jobs).Select(j => new Engine(seed + j, seeds)).ToArray();
        var reported = new HashSet<string>();
        foreach (var e in engines)
            e.OnFinding = f =>
            {
                lock (reported)
                {
                    if (!reported.Add(f.Signature)) return;
                    string where = Save(findingsDir, f);
                    Console.WriteLine($"crash: {f.Signature} ({ActionCodec.Read(f.Input).Actions.Count} actions after minimisation{where})");
                }
            };
        Parallel.ForEach(engines, new ParallelOptions { MaxDegreeOfParallelism = jobs }, e => e.Run(TimeSpan.FromSeconds(seconds), execs / jobs));
        var map = new TransitionMap();
        foreach (var e in engines) map.Add(e.Map);
        long total = engines.Sum(e => e.Executions);
        Console.WriteLine(map.Table());
        Console.WriteLine($"{total} execs ({total / Math.Max(clock.Elapsed.TotalSeconds, 0.001):0}/s), {reported.Count} crashes, transitions {map.ReachedDefined}/{TransitionMap.DefinedCount}");
        return reported.Count == 0 ? 0 : 1;
    }

    /// <summary>Writes a finding's input, its actions and the test case that replays it; returns ", written to ..." or "".</summary>
    private static string Save(string? directory, Finding f)
    {
        if (directory is null) return "";
        Directory.CreateDirectory(directory);
        string name = "crash-" + Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(f.Signature)))[..10].ToLowerInvariant();
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path + ".bin", f.Input);
        File.WriteAllText(path + ".txt", $"{f.Signature}\n\n{Minimizer.Describe(f.Input)}\n\n[TestCase(\"{name}\", \"{Convert.ToHexString(f.Input)}\")]\n\n{f.Message}\n");
        return $", written to {path}.txt";
    }

    private static int Afl()
    {
        SharpFuzz.Fuzzer.Run(stream =>
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            Harness.RunInput(copy.ToArray());
        });
        return 0;
    }

    private static int Seeds(string[] args)
    {
        var dir = ScriptsDirectory(Option(args, "--scripts")) ?? throw new DirectoryNotFoundException("Tests/Packetdrill/Scripts not found");
        Directory.CreateDirectory(args[1]);
        int n = 0;
        foreach (var (name, input) in ScriptSeeds.FromDirectory(dir)) { File.WriteAllBytes(Path.Combine(args[1], name), input); n++; }
        Console.WriteLine($"{n} seeds written to {args[1]}");
        return 0;
    }

    private static int Replay(string[] paths)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Where(f => !Path.GetFileName(f).StartsWith('.')) : [p]).ToList();
        var map = new TransitionMap();
        var crashes = new Dictionary<string, string>();
        foreach (var f in files)
            if (Finding.Crash(File.ReadAllBytes(f), map) is { } signature && crashes.TryAdd(signature, f))
                Console.WriteLine($"crash: {signature} ({f})");
        Console.WriteLine(map.Table());
        Console.WriteLine($"{files.Count} inputs replayed, {crashes.Count} crashes, transitions {map.ReachedDefined}/{TransitionMap.DefinedCount}");
        return crashes.Count == 0 ? 0 : 1;
    }

    private static int Show(string file)
    {
        var input = File.ReadAllBytes(file);
        try { Harness.RunInput(input, null, Console.WriteLine); Console.WriteLine("no crash"); return 0; }
        catch (Exception e) { Console.WriteLine($"crash: {Finding.SignatureOf(e)}\n{e}"); return 1; }
    }

    private static int Minimize(string file)
    {
        var input = File.ReadAllBytes(file);
        if (Finding.Crash(input) is not { } signature) { Console.WriteLine("the input does not crash"); return 0; }
        var small = Minimizer.Minimize(input, signature);
        Console.WriteLine($"{signature}\n{Minimizer.Describe(small)}\n[TestCase(\"name\", \"{Convert.ToHexString(small)}\")]");
        return 1;
    }
}
