using UserStack.Drivers.Memory;
using UserStack.Sockets.Host;
using UserStack.Wire;

namespace UserStack.Tests.Support;

/// <summary>Two hosted stacks (real threads and clock) joined by an in-memory link.</summary>
public sealed class HostedPair : IDisposable
{
    public static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.7.0.1");
    public static readonly Ipv4Address AddressB = Ipv4Address.Parse("10.7.0.2");

    public HostedPair()
    {
        var (a, b) = MemoryLink.Create();
        A = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:07:01"), Address = new Ipv4Cidr(AddressA, 24), Secret = [1, 2, 3] }, a);
        B = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:07:02"), Address = new Ipv4Cidr(AddressB, 24), Secret = [4, 5, 6] }, b);
        A.Start();
        B.Start();
    }

    public StackHost A { get; }
    public StackHost B { get; }

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}
