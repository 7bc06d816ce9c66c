using System.Net.Sockets;
using System.Security.Cryptography;
using UserStack.Drivers.Faults;
using UserStack.Drivers.Memory;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Faults;

/// <summary>The middleware composes with any device: two hosted stacks over a memory link made lossy, no root needed.</summary>
[NonParallelizable]
public class FaultyMemoryLinkTests
{
    [Test]
    public void Two_megabytes_cross_a_lossy_delayed_memory_link_intact()
    {
        var (a, b) = MemoryLink.Create("faulty");
        var lossy = new FaultInjectingDevice(a, LinkFaults.Parse("loss=2%,delay=1ms,jitter=1ms,reorder=1%,dup=0.5%,seed=9293"));
        var addressB = Ipv4Address.Parse("10.7.1.2");
        using var hostA = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:71:01"), Address = Ipv4Cidr.Parse("10.7.1.1/24"), Secret = [1] }, lossy);
        using var hostB = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:71:02"), Address = new Ipv4Cidr(addressB, 24), Secret = [2] }, b);
        hostA.Start();
        hostB.Start();

        using var listener = UserSocket.Tcp(hostB);
        listener.Bind(new Endpoint(Ipv4Address.Any, 9000));
        listener.Listen();
        listener.ReceiveTimeout = TimeSpan.FromSeconds(20);
        var data = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        var serving = Task.Run(() =>
        {
            using var server = listener.Accept();
            server.ReceiveTimeout = TimeSpan.FromSeconds(20);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[65536];
            int n;
            while ((n = server.Receive(buffer)) > 0) sha.AppendData(buffer, 0, n);
            return sha.GetHashAndReset();
        });
        using (var client = UserSocket.Tcp(hostA))
        {
            client.SendTimeout = TimeSpan.FromSeconds(20);
            client.Connect(new Endpoint(addressB, 9000));
            for (int at = 0; at < data.Length;) at += client.Send(data.AsSpan(at));
            client.Shutdown(SocketShutdown.Send);
            Assert.That(serving.Wait(TimeSpan.FromSeconds(60)), Is.True, "the transfer did not finish within 60 s");
        }
        Assert.That(serving.Result, Is.EqualTo(SHA256.HashData(data)));
        TestContext.Out.WriteLine(lossy);
        Assert.That(lossy.Sent.Lost + lossy.Received.Lost, Is.GreaterThan(0), "frames were really lost");
        Assert.That(hostA.InternalErrors + hostB.InternalErrors, Is.Zero);
    }
}
