using UserStack.Drivers.Virtual;
using UserStack.Tcp;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Support;

/// <summary>Stacks A (10.9.0.1) and B (10.9.0.2) joined by a seeded <see cref="VirtualWire"/>, driven on its virtual clock.</summary>
public sealed class WiredPair
{
    public static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.9.0.1");
    public static readonly Ipv4Address AddressB = Ipv4Address.Parse("10.9.0.2");

    public WiredPair(int seed, WireFaults faults, TcpOptions? tcp = null, TcpOptions? tcpB = null)
    {
        Wire = new VirtualWire(seed, faults);
        var portA = Wire.CreatePort("A");
        var portB = Wire.CreatePort("B");
        A = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:09:01"), Address = new Ipv4Cidr(AddressA, 24), Secret = [1], Tcp = tcp ?? new TcpOptions() }, portA);
        B = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:09:02"), Address = new Ipv4Cidr(AddressB, 24), Secret = [2], Tcp = tcpB ?? tcp ?? new TcpOptions() }, portB);
        portA.Connect(A);
        portB.Connect(B);
    }

    /// <summary>B listens on <paramref name="port"/>, A connects; runs the wire until B accepted (null on timeout).</summary>
    public (TcpConnection Client, TcpConnection? Server) Connect(ushort port, TimeSpan? limit = null)
    {
        var listener = B.Tcp.Open();
        B.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, port));
        B.Tcp.Listen(listener, 4, Wire.Now);
        var client = A.Tcp.Open();
        A.Tcp.Connect(client, new Endpoint(AddressB, port), Wire.Now);
        TcpConnection? server = null;
        Wire.RunUntil(() => (server ??= listener.TakeAccepted()) is not null, limit ?? TimeSpan.FromSeconds(10));
        return (client, server);
    }

    public VirtualWire Wire { get; }
    public NetStack A { get; }
    public NetStack B { get; }
}
