using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Sockets;

/// <summary>Stream sockets between two hosted stacks, both faces.</summary>
public class StreamSocketTests
{
    private static Endpoint B(ushort port) => new(HostedPair.AddressB, port);

    /// <summary>A listener on B, a client on A connected to it, and the accepted end.</summary>
    private static (UserSocket Listener, UserSocket Client, UserSocket Server) Connected(HostedPair pair, ushort port)
    {
        var listener = UserSocket.Tcp(pair.B);
        listener.Bind(new Endpoint(Ipv4Address.Any, port));
        listener.Listen();
        var client = UserSocket.Tcp(pair.A);
        client.Connect(B(port));
        listener.ReceiveTimeout = TimeSpan.FromSeconds(5);
        var server = listener.Accept();
        server.ReceiveTimeout = client.ReceiveTimeout = TimeSpan.FromSeconds(5);
        return (listener, client, server);
    }

    [Test]
    public void Listen_accept_connect_send_recv_and_orderly_close_as_in_C()
    {
        using var pair = new HostedPair();
        var a = new BsdSockets(pair.A);
        var b = new BsdSockets(pair.B);
        int listener = b.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.That(b.Bind(listener, new Endpoint(Ipv4Address.Any, 8080)), Is.Zero);
        Assert.That(b.Listen(listener, 4), Is.Zero);
        b.SetSockOpt(listener, SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout, 5000);

        int client = a.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.That(a.Connect(client, B(8080)), Is.Zero);
        int server = b.Accept(listener, out var peer);
        Assert.That(server, Is.GreaterThan(listener));
        Assert.That(peer.Address, Is.EqualTo(HostedPair.AddressA));
        b.SetSockOpt(server, SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout, 5000);

        Assert.That(a.Send(client, "GET"u8), Is.EqualTo(3));
        var buffer = new byte[16];
        Assert.That(b.Recv(server, buffer), Is.EqualTo(3));
        Assert.That(a.Shutdown(client, SocketShutdown.Send), Is.Zero);
        Assert.That(b.Recv(server, buffer), Is.Zero, "end of stream after the peer's FIN");
        Assert.That(b.Close(server), Is.Zero);
        a.SetSockOpt(client, SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout, 5000);
        Assert.That(a.Recv(client, buffer), Is.Zero);
        Assert.That(a[client]!.State, Is.EqualTo(TcpState.TimeWait));
    }

    [Test]
    public void A_nonblocking_connect_is_in_progress_then_writable_with_so_error_zero()
    {
        using var pair = new HostedPair();
        using var listener = UserSocket.Tcp(pair.B);
        listener.Bind(new Endpoint(Ipv4Address.Any, 8081));
        listener.Listen();
        var a = new BsdSockets(pair.A);
        int fd = a.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        a.Fcntl(fd, FcntlCommand.SetFlags, BsdSockets.O_NONBLOCK);
        Assert.That(a.Connect(fd, B(8081)), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINPROGRESS));
        var write = new List<int> { fd };
        Assert.That(a.Select(null, write, null, TimeSpan.FromSeconds(5)), Is.EqualTo(1));
        Assert.That(a.GetSockOpt(fd, SocketOptionLevel.Socket, SocketOptionName.Error, out int error), Is.Zero);
        Assert.That(error, Is.Zero);
        // Linux's __inet_stream_connect: the first connect() after the handshake completed returns 0, later ones EISCONN.
        Assert.That(a.Connect(fd, B(8081)), Is.Zero);
        Assert.That(a.Connect(fd, B(8081)), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EISCONN));
    }

    [Test]
    public void Connecting_to_a_closed_port_is_refused()
    {
        using var pair = new HostedPair();
        using var client = UserSocket.Tcp(pair.A);
        var e = Assert.Throws<SocketException>(() => client.Connect(B(9)));
        Assert.That(e!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
    }

    [Test]
    public void Closing_with_unread_data_resets_and_the_peer_sees_connection_reset()
    {
        using var pair = new HostedPair();
        var (listener, client, server) = Connected(pair, 8082);
        using var _ = listener;
        using var __ = client;
        client.Send(new byte[100]);
        var arrived = DateTime.UtcNow.AddSeconds(5);
        while (server.Available < 100 && DateTime.UtcNow < arrived) Thread.Sleep(5); // let the data arrive, unread
        server.Close();    // RFC 2525 2.17: unread data means RST
        var e = Assert.Throws<SocketException>(() => client.Receive(new byte[10]));
        Assert.That(e!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
    }

    [Test]
    public void SO_LINGER_zero_makes_close_abort()
    {
        using var pair = new HostedPair();
        var (listener, client, server) = Connected(pair, 8083);
        using var _ = listener;
        using var __ = server;
        client.Linger = TimeSpan.Zero;
        client.Close();
        var e = Assert.Throws<SocketException>(() => server.Receive(new byte[10]));
        Assert.That(e!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
    }

    [Test]
    public async Task A_stream_and_a_pipe_carry_a_megabyte_each_way_asynchronously()
    {
        using var pair = new HostedPair();
        using var listener = UserSocket.Tcp(pair.B);
        listener.Bind(new Endpoint(Ipv4Address.Any, 8084));
        listener.Listen();
        var accepting = listener.AcceptAsync().AsTask();
        using var client = UserSocket.Tcp(pair.A);
        await client.ConnectAsync(B(8084));
        using var server = await accepting.WaitAsync(TimeSpan.FromSeconds(10));

        var data = new byte[1 << 20];
        new Random(9293).NextBytes(data);
        var clientStream = client.GetStream();
        var serverPipe = server.GetPipe();
        var echo = Task.Run(async () =>
        {
            while (true)
            {
                var read = await serverPipe.Input.ReadAsync();
                foreach (var segment in read.Buffer) await serverPipe.Output.WriteAsync(segment);
                serverPipe.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted) break;
            }
            server.Shutdown(SocketShutdown.Send);
        });
        var writing = Task.Run(async () => { await clientStream.WriteAsync(data); client.Shutdown(SocketShutdown.Send); });
        var back = new MemoryStream();
        await clientStream.CopyToAsync(back).WaitAsync(TimeSpan.FromSeconds(60));
        await writing;
        await echo;
        Assert.That(back.ToArray(), Is.EqualTo(data));
    }
}
