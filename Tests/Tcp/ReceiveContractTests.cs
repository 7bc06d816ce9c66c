using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>The core's RECEIVE contract: 0 with Ok is the end of the stream and nothing else.</summary>
public class ReceiveContractTests
{
    [Test]
    public void A_receive_with_no_room_is_einval_not_end_of_stream_while_data_waits()
    {
        var pair = new WiredPair(1, Drivers.Virtual.WireFaults.None);
        var wire = pair.Wire;
        var (client, server) = pair.Connect(7000);
        Assert.That(server, Is.Not.Null);
        client.Send("hello"u8, wire.Now, out _);
        Assert.That(wire.RunUntil(() => server!.Available == 5, TimeSpan.FromSeconds(5)), Is.True);

        Assert.That(server!.Receive(Span<byte>.Empty, false, wire.Now, out var error), Is.Zero);
        Assert.That(error, Is.EqualTo(Errno.EINVAL), "no room is not the end of the stream");
        var buffer = new byte[16];
        Assert.That(server.Receive(buffer, false, wire.Now, out error), Is.EqualTo(5));

        client.ShutdownWrite(wire.Now);
        Assert.That(wire.RunUntil(() => server.FinReceived, TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(server.Receive(buffer, false, wire.Now, out error), Is.Zero);
        Assert.That(error, Is.EqualTo(Errno.Ok), "the end of the stream");
    }
}
