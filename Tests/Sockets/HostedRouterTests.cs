using System.Net.Sockets;
using System.Security.Cryptography;
using UserStack.Drivers.Memory;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Sockets;

/// <summary>
/// A hosted router: one StackHost with two in-memory links (<see cref="StackHost.AddLink"/>), real
/// threads and clock, forwarding between two hosted stacks that talk through sockets.
/// </summary>
public class HostedRouterTests
{
    private static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.31.0.2"), AddressC = Ipv4Address.Parse("10.32.0.2");

    [Test]
    public void Tcp_through_a_hosted_router_with_two_memory_links_arrives_whole()
    {
        var (a, ra) = MemoryLink.Create("la");
        var (rc, c) = MemoryLink.Create("lc");
        using var hostA = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:31:00:02"), Address = new Ipv4Cidr(AddressA, 24), Gateway = Ipv4Address.Parse("10.31.0.1"), Secret = [1] }, a);
        using var router = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:31:00:01"), Address = Ipv4Cidr.Parse("10.31.0.1/24"), Forwarding = true, Secret = [2] }, ra);
        var second = router.AddLink(new InterfaceOptions { Name = "lc", HardwareAddress = MacAddress.Parse("02:00:00:32:00:01"), Address = Ipv4Cidr.Parse("10.32.0.1/24") }, rc);
        using var hostC = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:32:00:02"), Address = new Ipv4Cidr(AddressC, 24), Gateway = Ipv4Address.Parse("10.32.0.1"), Secret = [3] }, c);
        hostA.Start();
        router.Start();
        hostC.Start();
        Assert.That(router.Links.Single().Link, Is.SameAs(second));

        using var listener = UserSocket.Tcp(hostC);
        listener.Bind(new Endpoint(Ipv4Address.Any, 7000));
        listener.Listen();
        listener.ReceiveTimeout = TimeSpan.FromSeconds(10);
        using var client = UserSocket.Tcp(hostA);
        client.Connect(new Endpoint(AddressC, 7000));
        using var server = listener.Accept();
        server.ReceiveTimeout = TimeSpan.FromSeconds(10);

        var data = new byte[1_000_000];
        new Random(31).NextBytes(data);
        var writer = Task.Run(() => { client.Send(data); client.Shutdown(SocketShutdown.Send); });
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[65536];
        long total = 0;
        int n;
        while ((n = server.Receive(buffer)) > 0) { hash.AppendData(buffer, 0, n); total += n; }
        Assert.That(writer.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(total, Is.EqualTo(data.Length));
        Assert.That(hash.GetHashAndReset(), Is.EqualTo(SHA256.HashData(data)));
        lock (router.Gate) Assert.That(router.Stack.Counters[Diagnostics.Counter.Ipv4Forwarded], Is.GreaterThan(data.Length / 1460));
        Assert.That(router.InternalErrors, Is.Zero);
    }
}
