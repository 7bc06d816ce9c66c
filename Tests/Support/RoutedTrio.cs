using UserStack.Drivers.Virtual;
using UserStack.Tcp;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Support;

/// <summary>
/// Host A (10.1.0.2/24) and host C (10.2.0.2/24) on two links, router R between them with one
/// interface on each (10.1.0.1 and 10.2.0.1), each host's default gateway R. One virtual wire, two
/// segments, one clock. R forwards only when asked; R's interface towards C may have a smaller MTU
/// than the hosts (<paramref name="routerMtuTowardsC"/>), so that R must fragment or say "fragmentation needed".
/// </summary>
public sealed class RoutedTrio
{
    public static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.1.0.2");
    public static readonly Ipv4Address RouterA = Ipv4Address.Parse("10.1.0.1");
    public static readonly Ipv4Address RouterC = Ipv4Address.Parse("10.2.0.1");
    public static readonly Ipv4Address AddressC = Ipv4Address.Parse("10.2.0.2");

    public RoutedTrio(bool forwarding = true, int routerMtuTowardsC = 1500, int seed = 1, WireFaults? faults = null, bool defaultRouteOnRouter = false)
    {
        Wire = new VirtualWire(seed, faults ?? WireFaults.None);
        var portA = Wire.CreatePort("A", segment: 0);
        var portRA = Wire.CreatePort("R.a", segment: 0);
        var portRC = Wire.CreatePort("R.c", segment: 1);
        var portC = Wire.CreatePort("C", segment: 1);
        A = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:01:00:02"), Address = new Ipv4Cidr(AddressA, 24), Gateway = RouterA, Secret = [1] }, portA);
        R = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:01:00:01"), Address = new Ipv4Cidr(RouterA, 24), Secret = [2], Forwarding = forwarding, InterfaceName = "ra" }, portRA);
        var rc = R.AddInterface(new InterfaceOptions { Name = "rc", HardwareAddress = MacAddress.Parse("02:00:00:02:00:01"), Address = new Ipv4Cidr(RouterC, 24), Mtu = routerMtuTowardsC }, portRC);
        C = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:02:00:02"), Address = new Ipv4Cidr(AddressC, 24), Gateway = RouterC, Secret = [3] }, portC);
        if (defaultRouteOnRouter) R.Routes.Add(new UserStack.Ip.Route(new Ipv4Cidr(Ipv4Address.Any, 0), AddressC)); // C as R's upstream
        portA.Connect(A);
        portRA.Connect(R.Primary);
        portRC.Connect(rc);
        portC.Connect(C);
        A.Start(Wire.Now);
        R.Start(Wire.Now);
        C.Start(Wire.Now);
    }

    public VirtualWire Wire { get; }
    public NetStack A { get; }
    public NetStack R { get; }
    public NetStack C { get; }

    /// <summary>C listens on <paramref name="port"/>, A connects through R; runs until C accepted (null on timeout).</summary>
    public (TcpConnection Client, TcpConnection? Server) Connect(ushort port, TimeSpan? limit = null)
    {
        var listener = C.Tcp.Open();
        C.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, port));
        C.Tcp.Listen(listener, 4, Wire.Now);
        var client = A.Tcp.Open();
        A.Tcp.Connect(client, new Endpoint(AddressC, port), Wire.Now);
        TcpConnection? server = null;
        Wire.RunUntil(() => (server ??= listener.TakeAccepted()) is not null && client.State == TcpState.Established, limit ?? TimeSpan.FromSeconds(10));
        return (client, server);
    }
}
