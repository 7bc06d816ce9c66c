using System.IO.Pipelines;
using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Sockets;

/// <summary>The Stream's errors as NetworkStream's, the IDuplexPipe on the socket's buffers, and wake-ups per socket.</summary>
public class SocketPipeTests
{
    private static (UserSocket Listener, UserSocket Client, UserSocket Server) Connected(HostedPair pair, ushort port)
    {
        var listener = UserSocket.Tcp(pair.B);
        listener.Bind(new Endpoint(Ipv4Address.Any, port));
        listener.Listen();
        var client = UserSocket.Tcp(pair.A);
        client.Connect(new Endpoint(HostedPair.AddressB, port));
        listener.ReceiveTimeout = TimeSpan.FromSeconds(10);
        var server = listener.Accept();
        server.ReceiveTimeout = client.ReceiveTimeout = TimeSpan.FromSeconds(10);
        return (listener, client, server);
    }

    [Test]
    public async Task Stream_errors_are_IOException_wrapping_the_SocketException_as_NetworkStream()
    {
        using var pair = new HostedPair();
        var (listener, client, server) = Connected(pair, 7201);
        using var _ = listener;
        var stream = client.GetStream();
        server.Linger = TimeSpan.Zero;
        server.Close(); // RST
        var e = Assert.Throws<IOException>(() => stream.ReadAtLeast(new byte[10], 1));
        Assert.That(e!.InnerException, Is.InstanceOf<SocketException>());
        Assert.That(((SocketException)e.InnerException!).SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
        var w = await Assert.ThrowsAsync<IOException>(async () => await stream.WriteAsync(new byte[10]));
        Assert.That(w!.InnerException, Is.InstanceOf<SocketException>());
        await Task.CompletedTask;
    }

    [Test]
    public async Task Completing_the_pipe_writer_sends_FIN_after_the_data()
    {
        using var pair = new HostedPair();
        var (listener, client, server) = Connected(pair, 7202);
        using var _ = listener;
        var pipe = server.GetPipe();
        await pipe.Output.WriteAsync("hello"u8.ToArray());
        "world"u8.CopyTo(pipe.Output.GetSpan(5));
        pipe.Output.Advance(5);
        await pipe.Output.CompleteAsync();
        var back = new MemoryStream();
        var buffer = new byte[64];
        for (int n; (n = client.Receive(buffer)) > 0;) back.Write(buffer, 0, n);
        Assert.That(back.ToArray(), Is.EqualTo("helloworld"u8.ToArray()), "then end of stream: FIN");
        Assert.That(server.State, Is.EqualTo(UserStack.Tcp.TcpState.FinWait2).Or.EqualTo(UserStack.Tcp.TcpState.FinWait1));
    }

    [Test]
    public async Task The_pipe_reader_reads_the_receive_buffer_in_place_and_only_advancing_opens_the_window()
    {
        using var pair = new HostedPair();
        var (listener, client, server) = Connected(pair, 7203);
        using var _ = listener;
        var pipe = server.GetPipe();
        client.Blocking = false;
        var chunk = new byte[16384];
        long sent = 0;
        // Fill until the peer's window and our send buffer are both full: the reader has not advanced.
        while (true)
        {
            var e = client.TrySend(chunk, null, 0, out int n);
            sent += n;
            if (e == Errno.EAGAIN && n == 0)
            {
                if (SpinWait.SpinUntil(() => client.IsWritable, 500)) continue;
                break;
            }
        }
        var read = await pipe.Input.ReadAsync();
        Assert.That(read.Buffer.Length, Is.EqualTo(server.Available), "the buffer handed out is what the socket holds");
        Assert.That(read.Buffer.Length, Is.EqualTo(server.ReceiveBufferSize), "the receive buffer is full: back-pressure to the peer");
        pipe.Input.AdvanceTo(read.Buffer.Start); // nothing consumed: the same bytes come again, and the window stays shut
        var again = await pipe.Input.ReadAsync();
        Assert.That(again.Buffer.Length, Is.EqualTo(read.Buffer.Length));
        pipe.Input.AdvanceTo(again.Buffer.Start);
        Assert.That(client.IsWritable, Is.False);
        long received = 0;
        sent += 100; // the send below
        var reading = Task.Run(async () =>
        {
            while (received < sent)
            {
                var r = await pipe.Input.ReadAsync();
                received += r.Buffer.Length;
                pipe.Input.AdvanceTo(r.Buffer.End);
            }
        });
        client.Blocking = true;
        client.SendTimeout = TimeSpan.FromSeconds(30);
        client.Send(new byte[100]); // room again once the reader advances
        Assert.That(await reading.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(t => t.IsCompletedSuccessfully), Is.True);
        Assert.That(received, Is.EqualTo(sent));
    }

    [Test]
    public async Task The_pipe_writer_flush_waits_for_room_in_the_send_buffer()
    {
        using var pair = new HostedPair();
        var (listener, client, server) = Connected(pair, 7204);
        using var _ = listener;
        var pipe = client.GetPipe();
        var data = new byte[4 * client.SendBufferSize];
        new Random(5).NextBytes(data);
        var writing = pipe.Output.WriteAsync(data).AsTask();
        Assert.That(SpinWait.SpinUntil(() => !client.IsWritable, 10_000), Is.True, "the send buffer fills");
        Assert.That(writing.IsCompleted, Is.False, "the flush waits while the peer does not read");
        var back = new MemoryStream();
        var buffer = new byte[65536];
        while (back.Length < data.Length) back.Write(buffer, 0, server.Receive(buffer));
        await writing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(back.ToArray(), Is.EqualTo(data));
    }

    [Test]
    public void A_wake_up_of_one_socket_leaves_a_call_blocked_on_another_settled()
    {
        using var pair = new HostedPair();
        using var x = UserSocket.Udp(pair.B);
        x.Bind(new Endpoint(Ipv4Address.Any, 7205));
        using var y = UserSocket.Udp(pair.B);
        y.Bind(new Endpoint(Ipv4Address.Any, 7206));
        using var sender = UserSocket.Udp(pair.A);
        int got = -1;
        var blocked = new Thread(() => got = x.Receive(new byte[16])) { IsBackground = true };
        blocked.Start();
        Assert.That(SpinWait.SpinUntil(() => { lock (pair.B.Gate) return pair.B.IsSettledWaiter(blocked.ManagedThreadId); }, 10_000), Is.True);
        sender.SendTo([1, 2], new Endpoint(HostedPair.AddressB, 7206));
        Assert.That(SpinWait.SpinUntil(() => y.Available > 0, 10_000), Is.True);
        lock (pair.B.Gate) Assert.That(pair.B.IsSettledWaiter(blocked.ManagedThreadId), Is.True, "y's datagram did not wake x's receiver");
        sender.SendTo([1, 2, 3], new Endpoint(HostedPair.AddressB, 7205));
        Assert.That(blocked.Join(10_000), Is.True);
        Assert.That(got, Is.EqualTo(3));
    }

    /// <summary>
    /// The pipe reads the stream as recv does (tcp_recvmsg): a read stops at the urgent mark, and
    /// the out-of-band byte (taken with MSG_OOB) is not in the stream unless SO_OOBINLINE.
    /// </summary>
    [TestCase(false, "abcXYdef", TestName = "The pipe reader stops at the urgent mark and skips the out of band byte")]
    [TestCase(true, "abcXYZdef", TestName = "The pipe reader stops at the urgent mark and keeps the byte with SO_OOBINLINE")]
    public async Task The_pipe_reader_follows_the_urgent_mark_as_recv_does(bool inline, string expected)
    {
        using var pair = new HostedPair();
        var (listener, client, server) = Connected(pair, (ushort)(inline ? 7211 : 7210));
        using var listening = listener;
        server.OutOfBandInline = inline;
        var pipe = server.GetPipe();
        Assert.That(client.TrySend("abc"u8, null, 0, out _), Is.EqualTo(Errno.Ok));
        Assert.That(client.TrySend("XYZ"u8, null, Linux.MSG_OOB, out _), Is.EqualTo(Errno.Ok)); // 'Z' is the urgent byte, the mark after it
        Assert.That(client.TrySend("def"u8, null, 0, out _), Is.EqualTo(Errno.Ok));
        if (!inline)
        {
            var oob = new byte[1];
            Assert.That(SpinWait.SpinUntil(() => server.TryReceive(oob, Linux.MSG_OOB, out int c, out _, out _) == Errno.Ok && c == 1, 10_000), "the urgent byte by MSG_OOB");
            Assert.That((char)oob[0], Is.EqualTo('Z'));
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var got = new System.Text.StringBuilder();
        var ends = new List<int>();  // where each read ended
        while (got.Length < expected.Length)
        {
            var r = await pipe.Input.ReadAsync(timeout.Token);
            foreach (var piece in r.Buffer) got.Append(System.Text.Encoding.ASCII.GetString(piece.Span));
            ends.Add(got.Length);
            pipe.Input.AdvanceTo(r.Buffer.End);
        }
        Assert.That(got.ToString(), Is.EqualTo(expected));
        Assert.That(ends, Does.Contain(5), "one read ends at the mark (after \"abcXY\"), none crosses it");
    }
}
