using UserStack.Sockets.Api;
using UserStack.Tests.Support;
using UserStack.Transport;

namespace UserStack.Tests.Sockets;

/// <summary>
/// UserSocket.InlineCompletions: an async wait that arriving frames end completes on the thread that
/// read them (the device reader), after it let go of the stack's lock; without it, on the thread pool.
/// </summary>
public class InlineCompletionTests
{
    private static async Task<string?> ThreadOfReceiveContinuation(UserSocket s)
    {
        var buffer = new byte[16];
        await s.ReceiveAsync(buffer).ConfigureAwait(false);
        return Thread.CurrentThread.IsThreadPoolThread ? "thread pool" : Thread.CurrentThread.Name;
    }

    private static (HostedPair, UserSocket Client, UserSocket Server) Connected(bool inline)
    {
        var pair = new HostedPair();
        var listener = UserSocket.Tcp(pair.B);
        listener.InlineCompletions = inline;
        listener.Bind(new Endpoint(HostedPair.AddressB, 7000));
        listener.Listen(4);
        var client = UserSocket.Tcp(pair.A);
        client.Connect(new Endpoint(HostedPair.AddressB, 7000));
        var server = listener.Accept();
        return (pair, client, server);
    }

    [TestCase(true, "memlink:mem1")]
    [TestCase(false, "thread pool")]
    public void A_receive_continuation_runs_where_the_setting_says(bool inline, string expected)
    {
        var (pair, client, server) = Connected(inline);
        using (pair)
        {
            Assert.That(server.InlineCompletions, Is.EqualTo(inline), "an accepted socket takes its listener's setting");
            var receiving = ThreadOfReceiveContinuation(server);
            Assert.That(receiving.IsCompleted, Is.False, "nothing to read yet: the receive waits");
            client.Send("x"u8);
            Assert.That(receiving.Wait(TimeSpan.FromSeconds(5)), Is.True);
            Assert.That(receiving.Result, Is.EqualTo(expected), "the continuation ran on B's device reader, or on the pool");
        }
    }
}
