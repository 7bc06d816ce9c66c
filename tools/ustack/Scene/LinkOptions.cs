using UserStack.Wire;

namespace UserStack.Tools.Scene;

/// <summary>One more link of a scene's stack: a TAP, the stack's address on it, and optionally the kernel's side.</summary>
public sealed record LinkOptions
{
    public required string TapName { get; init; }
    public required Ipv4Cidr StackAddress { get; init; }
    /// <summary>The kernel's address on this TAP; null leaves it unconfigured.</summary>
    public Ipv4Cidr? HostAddress { get; init; }
    /// <summary>Namespace to move this TAP into (created if missing); null keeps it in the current one.</summary>
    public string? Namespace { get; init; }
    public MacAddress? Mac { get; init; }
    public int Mtu { get; init; } = 1500;
}
