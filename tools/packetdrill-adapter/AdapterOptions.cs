using UserStack.Wire;

namespace UserStack.PacketdrillAdapter;

/// <summary>
/// What --so_flags may set, as "key=value" pairs separated by commas or spaces; the keys are
/// packetdrill's own option names. The defaults are packetdrill's IPv4 defaults (gateway
/// 192.168.0.1, netmask 255.255.0.0, MTU 1500) with the local address fixed at 192.168.0.2,
/// because packetdrill draws its default local address at random: run it with
/// --local_ip=192.168.0.2 (tools/packetdrill.sh does), or pass local_ip=... here as well.
/// </summary>
internal sealed record AdapterOptions
{
    public Ipv4Address LocalIp { get; init; } = Ipv4Address.Parse("192.168.0.2");
    public Ipv4Address GatewayIp { get; init; } = Ipv4Address.Parse("192.168.0.1");
    public int PrefixLength { get; init; } = 16;
    public int Mtu { get; init; } = 1500;
    /// <summary>How far netdev_receive may move virtual time looking for the next outbound packet before it reports none.</summary>
    public TimeSpan SniffHorizon { get; init; } = TimeSpan.FromSeconds(600);
    /// <summary>Prints every frame in and out on standard error.</summary>
    public bool Verbose { get; init; }

    public static AdapterOptions Parse(string? flags)
    {
        var o = new AdapterOptions();
        if (string.IsNullOrWhiteSpace(flags)) return o;
        foreach (var item in flags.Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = item.Split('=', 2);
            string key = kv[0].TrimStart('-'), value = kv.Length > 1 ? kv[1] : "";
            o = key switch
            {
                "local_ip" => o with { LocalIp = Ipv4Address.Parse(value) },
                "gateway_ip" => o with { GatewayIp = Ipv4Address.Parse(value) },
                "netmask_ip" => o with { PrefixLength = PrefixOf(Ipv4Address.Parse(value)) },
                "mtu" => o with { Mtu = int.Parse(value) },
                "sniff_horizon_secs" => o with { SniffHorizon = TimeSpan.FromSeconds(double.Parse(value, System.Globalization.CultureInfo.InvariantCulture)) },
                "verbose" => o with { Verbose = value is "" or "1" or "true" },
                _ => throw new ArgumentException($"unknown --so_flags key '{key}' (known: local_ip, gateway_ip, netmask_ip, mtu, sniff_horizon_secs, verbose)"),
            };
        }
        return o;
    }

    private static int PrefixOf(Ipv4Address mask)
    {
        int n = System.Numerics.BitOperations.LeadingZeroCount(~mask.Value);
        if (n < 32 && mask.Value << n != 0) throw new ArgumentException($"{mask} is not a netmask");
        return n;
    }
}
