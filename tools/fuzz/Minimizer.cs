namespace UserStack.Fuzz;

/// <summary>
/// Makes a crashing input small while it still crashes the same way: whole actions dropped
/// (halves, then quarters, down to one at a time), then the configuration set back to defaults.
/// </summary>
public static class Minimizer
{
    public static byte[] Minimize(byte[] input, string signature, int budget = 3000)
    {
        var (config, decoded) = ActionCodec.Read(input);
        var actions = decoded.Select(d => d.Action).ToList();
        bool Still(FuzzConfig c, List<FuzzAction> a) => budget-- > 0 && Finding.Crash(ActionCodec.Write(c, a)) == signature;

        for (int chunk = Math.Max(1, actions.Count / 2); chunk >= 1; chunk /= 2)
        {
            for (int start = 0; start < actions.Count;)
            {
                var shorter = actions.Take(start).Concat(actions.Skip(start + chunk)).ToList();
                if (shorter.Count < actions.Count && Still(config, shorter)) actions = shorter;
                else start += chunk;
            }
        }
        foreach (var simpler in new[] { config with { Mtu = 0 }, config with { SendBuffer = 0 }, config with { ReceiveBuffer = 0 }, config with { Flags = (byte)(config.Flags & 1) } })
            if (simpler != config && Still(simpler, actions)) config = simpler;
        return ActionCodec.Write(config, actions);
    }

    /// <summary>The input as readable lines: the configuration and one action a line.</summary>
    public static string Describe(byte[] input)
    {
        var (config, actions) = ActionCodec.Read(input);
        return string.Join("\n", new[] { config.ToString() }.Concat(actions.Select(a => a.Action.ToString())));
    }
}
