using UserStack.Wire;

namespace UserStack;

/// <summary>How one more interface of a stack is set up (the first comes from <see cref="StackOptions"/>).</summary>
public sealed record InterfaceOptions
{
    /// <summary>A name for traces and listings, e.g. the TAP's.</summary>
    public required string Name { get; init; }
    public required MacAddress HardwareAddress { get; init; }
    /// <summary>The interface's address and its on-link prefix, e.g. 10.2.0.1/24.</summary>
    public required Ipv4Cidr Address { get; init; }
    /// <summary>IP MTU of this link.</summary>
    public int Mtu { get; init; } = 1500;

    /// <summary>Refuses what an interface cannot be, with the same rules as the first one's.</summary>
    public void Validate()
    {
        if (Mtu < StackOptions.MinimumMtu || Mtu > StackOptions.MaximumMtu) throw new ArgumentOutOfRangeException(nameof(Mtu), Mtu, $"MTU must be between {StackOptions.MinimumMtu} and {StackOptions.MaximumMtu}");
        StackOptions.ValidateLink(HardwareAddress, Address);
    }
}
