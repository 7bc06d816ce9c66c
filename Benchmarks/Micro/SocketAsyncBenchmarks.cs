using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using UserStack.Drivers.Memory;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Benchmarks.Micro;

/// <summary>
/// Steady-state async send and receive on a connected TCP pair: two hosted stacks (real clock,
/// their own threads) over the in-memory link. One operation is a 64-byte SendAsync on one end
/// and the ReceiveAsync calls on the other that take those bytes, the receive usually waiting
/// for them on the socket's reusable value-task source. Allocated should read 0 B per operation.
/// </summary>
[MemoryDiagnoser]
public class SocketAsyncBenchmarks
{
    private const int Operations = 200;
    private StackHost a = null!, b = null!;
    private UserSocket listener = null!, client = null!, server = null!;
    private readonly byte[] payload = new byte[64];
    private readonly byte[] buffer = new byte[64];

    [GlobalSetup]
    public void Setup()
    {
        var (da, db) = MemoryLink.Create("bench");
        var addressA = Ipv4Address.Parse("10.9.0.1");
        var addressB = Ipv4Address.Parse("10.9.0.2");
        a = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:09:01"), Address = new Ipv4Cidr(addressA, 24), Secret = [1] }, da);
        b = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:09:02"), Address = new Ipv4Cidr(addressB, 24), Secret = [2] }, db);
        a.Start();
        b.Start();
        listener = UserSocket.Tcp(b);
        listener.Bind(new Endpoint(Ipv4Address.Any, 5001));
        listener.Listen();
        client = UserSocket.Tcp(a);
        client.Connect(new Endpoint(addressB, 5001));
        server = listener.Accept();
        client.NoDelay = server.NoDelay = true;
        // Warm the paths (buffers rented, ARP resolved, state machine boxes pooled).
        for (int i = 0; i < 1000; i++) SendAndReceive(client, server).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        client.Close();
        server.Close();
        listener.Close();
        a.Dispose();
        b.Dispose();
    }

    /// <summary>SendAsync of 64 bytes, then ReceiveAsync until they are in: A to B.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public ValueTask AsyncSendAndReceive() => Run(client, server);

    /// <summary>A 64-byte ping-pong: B's receive is pending before A sends, then back the other way.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public ValueTask AsyncPingPong() => PingPong();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask Run(UserSocket from, UserSocket to)
    {
        for (int i = 0; i < Operations; i++) await SendAndReceive(from, to);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PingPong()
    {
        for (int i = 0; i < Operations / 2; i++)
        {
            var pending = server.ReceiveAsync(buffer);
            await client.SendAsync(payload);
            int got = await pending;
            while (got < payload.Length) got += await server.ReceiveAsync(buffer.AsMemory(got));
            await SendAndReceive(server, client);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAndReceive(UserSocket from, UserSocket to)
    {
        await from.SendAsync(payload);
        int got = 0;
        while (got < payload.Length) got += await to.ReceiveAsync(buffer.AsMemory(got));
    }
}
