using System.Globalization;
using System.Text.RegularExpressions;
using UserStack.Drill.Language;
using UserStack.Tcp;
using UserStack.Wire;

namespace UserStack.Drill;

/// <summary>What a caller of the runner chooses: symbols for `#ifdef`, the stack's TCP options, a tolerance override.</summary>
public sealed record DrillSettings
{
    /// <summary>packetdrill's `-D NAME=VALUE` (and `#ifdef NAME` of FreeBSD's fork); a value of "" just defines NAME.</summary>
    public IReadOnlyDictionary<string, string> Defines { get; init; } = new Dictionary<string, string>();
    public TcpOptions Tcp { get; init; } = new();
    /// <summary>
    /// Known policy differences to look past, so that a script goes on to test what follows (off by
    /// default; a run with any of them is not a packetdrill pass): "psh" (where PSH goes), "win"
    /// (window values), "options" (option order and nop/eol padding), "wscale" (the shift chosen),
    /// "bufsize" (SO_RCVBUF/SO_SNDBUF values read back).
    /// </summary>
    public IReadOnlySet<string> Relax { get; init; } = new HashSet<string>();
    public static readonly string[] Relaxable = ["psh", "win", "options", "wscale", "bufsize"];
    /// <summary>Overrides `--tolerance_usecs` (null keeps the script's or packetdrill's default, 4 ms).</summary>
    public TimeSpan? Tolerance { get; init; }
    /// <summary>Put the stack's trace (tcpdump-style frame lines and explained events) into the run's log (`ustack drill -v`).</summary>
    public bool Trace { get; init; }
}

/// <summary>
/// packetdrill's configuration for one run, from its defaults (config.c), the script's option
/// lines and the sysctls its shell lines set. Options with no meaning for an in-process stack
/// are accepted with a warning; IPv6 is reported as unsupported.
/// </summary>
public sealed partial class DrillConfig
{
    public Ipv4Address LocalIp { get; private set; } = Ipv4Address.Parse("192.168.0.1");
    public Ipv4Address RemoteIp { get; private set; } = Ipv4Address.Parse("192.0.2.1");
    public Ipv4Address GatewayIp { get; private set; } = Ipv4Address.Parse("192.168.0.2");
    public int PrefixLength { get; private set; } = 16;
    public ushort BindPort { get; private set; } = 8080;
    public ushort ConnectPort { get; private set; } = 8080;
    public int Mtu { get; private set; } = 1500;
    public long ToleranceUsecs { get; private set; } = 4000;
    public double TolerancePercent { get; private set; } = 12.5;
    public bool TsEcrScaled { get; private set; }
    public long TsTickUsecs { get; private set; }
    public TcpOptions Tcp { get; private set; }
    public List<string> Warnings { get; } = new();
    /// <summary>Set when the script needs what UserStack does not have (IPv6): the line and the construct.</summary>
    public (int Line, string Construct)? Unsupported { get; private set; }

    public DrillConfig(DrillSettings settings) => Tcp = settings.Tcp;

    /// <summary>The caller's tolerance wins over the script's `--tolerance_usecs`.</summary>
    public void ToleranceOverride(TimeSpan tolerance) => ToleranceUsecs = tolerance.Ticks / TimeSpan.TicksPerMicrosecond;

    public void Apply(ScriptOption o)
    {
        string v = o.Value ?? "";
        switch (o.Name)
        {
            case "ip_version":
                if (v != "ipv4") Unsupported ??= (o.Line, $"--ip_version={v} (UserStack speaks IPv4 only)");
                break;
            case "tolerance_usecs": ToleranceUsecs = long.Parse(v, CultureInfo.InvariantCulture); break;
            case "tolerance_percent": TolerancePercent = double.Parse(v, CultureInfo.InvariantCulture); break;
            case "tcp_ts_ecr_scaled": TsEcrScaled = true; break;
            case "tcp_ts_tick_usecs": TsTickUsecs = long.Parse(v, CultureInfo.InvariantCulture); break;
            case "mtu": Mtu = int.Parse(v, CultureInfo.InvariantCulture); break;
            case "bind_port": BindPort = ushort.Parse(v, CultureInfo.InvariantCulture); break;
            case "connect_port": ConnectPort = ushort.Parse(v, CultureInfo.InvariantCulture); break;
            case "local_ip": LocalIp = Address(o, v); break;
            case "remote_ip": RemoteIp = Address(o, v); break;
            case "gateway_ip": GatewayIp = Address(o, v); break;
            case "netmask_ip": PrefixLength = PrefixOf(Address(o, v)); break;
            default: Warnings.Add($"line {o.Line}: option --{o.Name} has no meaning for UserStack; ignored"); break;
        }
    }

    private Ipv4Address Address(ScriptOption o, string v)
    {
        if (Ipv4Address.TryParse(v, out var a)) return a;
        Unsupported ??= (o.Line, $"--{o.Name}={v} (not an IPv4 address: UserStack speaks IPv4 only)");
        return o.Name switch { "local_ip" => LocalIp, "remote_ip" => RemoteIp, "gateway_ip" => GatewayIp, _ => Ipv4Address.Parse("255.255.0.0") };
    }

    private static int PrefixOf(Ipv4Address mask) => System.Numerics.BitOperations.PopCount(mask.Value);

    /// <summary>
    /// A shell line: sysctls UserStack has an equal for change the stack's options (Linux's
    /// net.ipv4.tcp_* and FreeBSD's net.inet.tcp.*); a sourced file next to the script (packetdrill's
    /// ../common/defaults.sh) is read for its sysctls; anything else is skipped with a warning.
    /// </summary>
    public void ApplyCommand(int line, string command, string? scriptDirectory)
    {
        command = Arithmetic().Replace(command, m => Evaluate(m.Groups[1].Value)); // defaults.sh writes $((15*1024*1024))
        foreach (var part in command.Split([';', '\n', '&', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var words = part.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) continue;
            if (words[0] == "sysctl")
            {
                foreach (Match m in Sysctl().Matches(part)) ApplySysctl(line, m.Groups["name"].Value, m.Groups["value"].Value.Trim('"', '\''));
                continue;
            }
            if (scriptDirectory is not null && words[0].EndsWith(".sh", StringComparison.Ordinal) && File.Exists(Path.Combine(scriptDirectory, words[0])))
            {
                foreach (var l in File.ReadAllLines(Path.Combine(scriptDirectory, words[0])))
                    if (!l.TrimStart().StartsWith('#') && l.Contains("sysctl", StringComparison.Ordinal)) ApplyCommand(line, l, null);
                continue;
            }
            Warnings.Add($"line {line}: shell command `{part}` not run (UserStack runs in-process)");
        }
    }

    private void ApplySysctl(int line, string name, string value)
    {
        bool on = value is not ("0" or "");
        switch (name)
        {
            case "net.ipv4.tcp_timestamps": Tcp = Tcp with { Timestamps = on }; break;
            case "net.ipv4.tcp_sack" or "net.inet.tcp.sack.enable": Tcp = Tcp with { SelectiveAcknowledgments = on }; break;
            case "net.ipv4.tcp_window_scaling": Tcp = Tcp with { WindowScaling = on }; break;
            case "net.inet.tcp.rfc1323": Tcp = Tcp with { WindowScaling = on, Timestamps = on }; break;
            case "net.ipv4.tcp_congestion_control" when value is "cubic" or "reno": Tcp = Tcp with { CongestionControl = value == "reno" ? "newreno" : value }; break;
            // Linux scales its window for tcp_rmem's maximum (tcp_select_initial_window); UserStack's buffer does not grow, so it takes the maximum.
            case "net.ipv4.tcp_rmem" when Third(value, 2) is int rmem: Tcp = Tcp with { ReceiveBufferSize = rmem }; break;
            case "net.ipv4.tcp_wmem" when Third(value, 1) is int wmem: Tcp = Tcp with { SendBufferSize = wmem }; break;
            case "net.inet.tcp.recvspace" when int.TryParse(value, out var r): Tcp = Tcp with { ReceiveBufferSize = r }; break;
            case "net.inet.tcp.sendspace" when int.TryParse(value, out var s): Tcp = Tcp with { SendBufferSize = s }; break;
            case "net.ipv4.tcp_syncookies" when int.TryParse(value, out var c) && c is >= 0 and <= 2: Tcp = Tcp with { SynCookies = (SynCookieMode)c }; break;
            case "net.ipv4.tcp_syn_retries" when int.TryParse(value, out var n): Tcp = Tcp with { MaxSynRetransmissions = n }; break;
            default: Warnings.Add($"line {line}: sysctl {name}={value} has no equal in UserStack; ignored"); break;
        }
    }

    /// <summary>The <paramref name="index"/>th number of a "min default max" triple.</summary>
    private static int? Third(string value, int index)
    {
        var parts = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 3 && int.TryParse(parts[index], out var n) ? n : null;
    }

    /// <summary>Shell arithmetic of sums of products of integers.</summary>
    private static string Evaluate(string expression) =>
        expression.Split('+').Sum(term => term.Split('*').Aggregate(1L, (p, f) => p * long.Parse(f.Trim(), CultureInfo.InvariantCulture))).ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\$\(\(([0-9*+ ]+)\)\)")]
    private static partial Regex Arithmetic();

    [GeneratedRegex(@"(?<name>[a-z][a-z0-9_.]+)=(?<value>""[^""]*""|'[^']*'|\S+)")]
    private static partial Regex Sysctl();
}
