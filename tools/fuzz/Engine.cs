using System.Diagnostics;
using UserStack.Tcp;

namespace UserStack.Fuzz;

/// <summary>
/// The built-in deterministic engine: seeded random inputs plus mutations of a corpus (the
/// translated packetdrill scripts and every input that reached a new (state, event) pair or a
/// new order of magnitude of one). No AFL needed; the same seed and budget give the same run.
/// </summary>
public sealed class Engine
{
    private readonly Random rng;
    private readonly Generator generator;
    private readonly Mutator mutator;
    private readonly List<byte[]> corpus = new();
    private readonly HashSet<(int, int, int)> seen = new(); // (state, event, log2 bucket of the count in one run)
    private readonly Dictionary<string, Finding> findings = new();

    public Engine(int seed, IEnumerable<byte[]> seeds)
    {
        rng = new Random(seed);
        generator = new Generator(rng);
        mutator = new Mutator(rng, generator);
        corpus.AddRange(seeds);
    }

    public TransitionMap Map { get; } = new();
    public long Executions { get; private set; }
    public IReadOnlyCollection<Finding> Findings => findings.Values;
    public IReadOnlyList<byte[]> Corpus => corpus;
    /// <summary>Told of each new finding (after minimisation) as it is found.</summary>
    public Action<Finding>? OnFinding { get; set; }

    /// <summary>Runs the seeds once each, then generated and mutated inputs until either budget is spent.</summary>
    public void Run(TimeSpan time, long maxExecutions)
    {
        var clock = Stopwatch.StartNew();
        foreach (var s in corpus.ToList()) Execute(s);
        while (clock.Elapsed < time && Executions < maxExecutions)
        {
            byte[] input = corpus.Count == 0 || rng.Next(10) < 3
                ? ActionCodec.Write(generator.Config(), generator.Actions())
                : mutator.Mutate(corpus[rng.Next(corpus.Count)], corpus);
            Execute(input);
        }
    }

    private void Execute(byte[] input)
    {
        var map = new TransitionMap();
        Executions++;
        string? signature = null;
        Exception? error = null;
        try { Harness.RunInput(input, map); }
        catch (Exception e) { signature = Finding.SignatureOf(e); error = e; }
        Map.Add(map);
        if (IsNew(map)) corpus.Add(input);
        if (signature is not null && !findings.ContainsKey(signature))
        {
            var small = Minimizer.Minimize(input, signature);
            var finding = new Finding(signature, error!.ToString(), small);
            findings[signature] = finding;
            OnFinding?.Invoke(finding);
        }
    }

    private bool IsNew(TransitionMap map)
    {
        bool fresh = false;
        foreach (var s in Enum.GetValues<TcpState>())
            foreach (var e in Enum.GetValues<TcpEvent>())
            {
                long n = map.Count(s, e);
                if (n > 0 && seen.Add(((int)s, (int)e, Math.Min(64 - (int)ulong.LeadingZeroCount((ulong)n), 6)))) fresh = true;
            }
        return fresh;
    }
}
