namespace UserStack.Fuzz;

/// <summary>Mutations of a corpus input, at the level of actions (insert, delete, replace, repeat, splice) and of bytes.</summary>
public sealed class Mutator(Random rng, Generator generator)
{
    public byte[] Mutate(byte[] input, IReadOnlyList<byte[]> corpus)
    {
        var (config, decoded) = ActionCodec.Read(input);
        var actions = decoded.Select(d => d.Action).ToList();
        int rounds = 1 + rng.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            int at = actions.Count == 0 ? 0 : rng.Next(actions.Count + 1);
            switch (rng.Next(8))
            {
                case 0: actions.Insert(at, generator.Action()); break;
                case 1: if (actions.Count > 1) actions.RemoveAt(Math.Min(at, actions.Count - 1)); break;
                case 2: if (actions.Count > 0) actions[Math.Min(at, actions.Count - 1)] = generator.Action(); break;
                case 3:
                    if (actions.Count > 0)
                    {
                        int start = rng.Next(actions.Count), length = Math.Min(1 + rng.Next(8), actions.Count - start);
                        actions.InsertRange(start, actions.GetRange(start, length));
                    }
                    break;
                case 4:
                    var other = ActionCodec.Read(corpus[rng.Next(corpus.Count)]).Actions.Select(d => d.Action).ToList();
                    int keep = actions.Count == 0 ? 0 : rng.Next(actions.Count);
                    actions = actions.Take(keep).Concat(other.Skip(rng.Next(Math.Max(1, other.Count)))).ToList();
                    break;
                case 5: config = rng.Next(2) == 0 ? generator.Config() : config with { Flags = (byte)(config.Flags ^ (1 << rng.Next(8))) }; break;
                default:
                    // Bytes: flip, set interesting values, then decode again.
                    var bytes = ActionCodec.Write(config, actions);
                    for (int i = 0, n = 1 + rng.Next(4); i < n; i++)
                    {
                        int p = rng.Next(bytes.Length);
                        bytes[p] = rng.Next(3) switch { 0 => (byte)(bytes[p] ^ (1 << rng.Next(8))), 1 => (byte)rng.Next(256), _ => (byte)(rng.Next(2) == 0 ? 0 : 0xFF) };
                    }
                    (config, decoded) = ActionCodec.Read(bytes);
                    actions = decoded.Select(d => d.Action).ToList();
                    break;
            }
        }
        if (actions.Count > ActionCodec.MaxActions) actions.RemoveRange(ActionCodec.MaxActions, actions.Count - ActionCodec.MaxActions);
        return ActionCodec.Write(config, actions);
    }
}
