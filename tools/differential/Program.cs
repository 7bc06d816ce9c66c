using System.Globalization;
using UserStack.Differential;

// tools/fuzz.sh --differential [--only a,b] [--max-script-seconds N] [--markdown FILE] [--log DIR]
// Exit: 0 every difference classified; 1 some unclassified; 2 usage; 3 cannot run here (no root/TUN).
string? markdown = null, logs = null, folder = null;
var only = new List<string>();
double maxSeconds = 65;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    try
    {
        switch (args[i])
        {
            case "--only": only.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.EndsWith(".pkt") ? s[..^4] : s)); break;
            case "--max-script-seconds": maxSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--markdown": markdown = Next(); break;
            case "--log": logs = Next(); break;
            case "--scripts": folder = Next(); break;
            case "-h" or "--help":
                Console.WriteLine("usage: UserStack.Differential [--only NAME,...] [--max-script-seconds N] [--markdown FILE] [--log DIR] [--scripts DIR]");
                return 0;
            default: throw new ArgumentException($"unknown option {args[i]}");
        }
    }
    catch (Exception e) when (e is ArgumentException or FormatException) { Console.Error.WriteLine(e.Message); return 2; }
}

if (DifferentialRun.Unavailable() is { } why)
{
    Console.Error.WriteLine($"differential mode: cannot run here: {why}. It needs root, /dev/net/tun and iproute2 (each script runs in a network namespace of its own).");
    return 3;
}

var options = new DifferentialOptions { Only = only, MaxScriptSeconds = maxSeconds, Progress = Console.Out };
if (folder is not null) options = options with { ScriptFolder = folder };
var outcomes = DifferentialRun.Run(options);
Console.WriteLine();
Console.Write(Report.Text(outcomes));
if (markdown is not null) File.WriteAllText(markdown, Report.Markdown(outcomes));
if (logs is not null)
{
    Directory.CreateDirectory(logs);
    foreach (var o in outcomes.Where(o => o.Skipped is null)) File.WriteAllText(Path.Combine(logs, o.Script + ".log"), o.Log);
}
return outcomes.Any(o => o.Differences.Any(d => d.Verdict.Class == DifferenceClass.Unclassified)) ? 1 : 0;
