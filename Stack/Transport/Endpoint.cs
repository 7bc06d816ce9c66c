using UserStack.Wire;

namespace UserStack.Transport;

/// <summary>An IPv4 address and port: one end of a UDP or TCP conversation.</summary>
public readonly record struct Endpoint(Ipv4Address Address, ushort Port)
{
    public static Endpoint Any { get; } = new(Ipv4Address.Any, 0);
    public override string ToString() => $"{Address}:{Port}";
    public static Endpoint Parse(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon < 0 || !ushort.TryParse(text[(colon + 1)..], out var port)) throw new FormatException($"'{text}' is not ADDRESS:PORT");
        return new Endpoint(Ipv4Address.Parse(text[..colon]), port);
    }
}

/// <summary>What the port table needs to know of a bound socket, UDP or TCP.</summary>
public interface IBoundEndpoint
{
    Endpoint Local { get; }
    /// <summary>The peer of a connected socket; null when it takes datagrams from anyone.</summary>
    Endpoint? Remote { get; }
    bool ReuseAddress { get; }
}
