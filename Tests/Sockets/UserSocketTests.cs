using System.Net.Sockets;
using UserStack.Diagnostics;
using UserStack.Sockets.Api;
using UserStack.Sockets.Daemons;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Sockets;

/// <summary>The idiomatic socket object between two hosted stacks.</summary>
public class UserSocketTests
{
    private static Endpoint At(Ipv4Address a, ushort port) => new(a, port);

    /// <summary>A UDP socket on <paramref name="host"/> bound to 0.0.0.0:<paramref name="port"/>.</summary>
    private static UserSocket Bound(UserStack.Sockets.Host.StackHost host, ushort port)
    {
        var socket = UserSocket.Udp(host);
        socket.Bind(At(Ipv4Address.Any, port));
        return socket;
    }

    [Test]
    public void A_datagram_goes_across_and_the_echo_daemon_sends_it_back()
    {
        using var pair = new HostedPair();
        using var daemons = new UdpDaemons(pair.B, [DaemonKind.Echo]);
        using var client = UserSocket.Udp(pair.A);
        client.ReceiveTimeout = TimeSpan.FromSeconds(5);
        client.SendTo("ping"u8, At(HostedPair.AddressB, 7));
        var buffer = new byte[100];
        var r = client.ReceiveFrom(buffer);
        Assert.That(buffer[..r.Length], Is.EqualTo("ping"u8.ToArray()));
        Assert.That(r.From, Is.EqualTo(At(HostedPair.AddressB, 7)));
        Assert.That(client.LocalEndpoint.Port, Is.InRange((ushort)49152, (ushort)65535));
    }

    [Test]
    public void A_nonblocking_receive_with_nothing_queued_would_block()
    {
        using var pair = new HostedPair();
        using var socket = Bound(pair.A, 5000);
        socket.Blocking = false;
        Assert.That(socket.TryReceiveFrom(new byte[10], SocketFlags.None, out _), Is.EqualTo(Errno.EAGAIN));
        var e = Assert.Throws<SocketException>(() => socket.ReceiveFrom(new byte[10]));
        Assert.That(e!.SocketErrorCode, Is.EqualTo(SocketError.WouldBlock));
    }

    [Test]
    public void SO_RCVTIMEO_ends_a_blocking_receive_with_would_block()
    {
        using var pair = new HostedPair();
        using var socket = Bound(pair.A, 5000);
        socket.ReceiveTimeout = TimeSpan.FromMilliseconds(200);
        var started = DateTime.UtcNow;
        Assert.That(socket.TryReceiveFrom(new byte[10], SocketFlags.None, out _), Is.EqualTo(Errno.EAGAIN));
        Assert.That(DateTime.UtcNow - started, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190)), "it waited rather than failing at once");
    }

    [Test]
    public void A_blocked_receive_wakes_when_a_datagram_arrives()
    {
        using var pair = new HostedPair();
        using var server = Bound(pair.B, 6000);
        var receiving = Task.Run(() => { var b = new byte[16]; int n = server.Receive(b); return b[..n]; });
        using var client = UserSocket.Udp(pair.A);
        Thread.Sleep(50);
        client.SendTo([42], At(HostedPair.AddressB, 6000));
        Assert.That(receiving.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(receiving.Result, Is.EqualTo(new byte[] { 42 }));
    }

    [Test]
    public async Task Async_receive_completes_on_arrival_and_honours_cancellation()
    {
        using var pair = new HostedPair();
        using var server = Bound(pair.B, 6001);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        try
        {
            var r0 = await server.ReceiveFromAsync(new byte[8], cancel.Token);
            Assert.Fail($"received {r0} instead of being cancelled");
        }
        catch (OperationCanceledException) { }

        var pending = server.ReceiveFromAsync(new byte[8]).AsTask();
        using var client = UserSocket.Udp(pair.A);
        await client.SendToAsync(new byte[] { 1, 2 }, At(HostedPair.AddressB, 6001));
        var r = await pending.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(r.Length, Is.EqualTo(2));
        Assert.That(r.From.Address, Is.EqualTo(HostedPair.AddressA));
    }

    [Test]
    public void A_connected_socket_hears_connection_refused_from_a_closed_port()
    {
        using var pair = new HostedPair();
        using var client = UserSocket.Udp(pair.A);
        client.Connect(At(HostedPair.AddressB, 9999));
        client.ReceiveTimeout = TimeSpan.FromSeconds(5);
        client.Send([1]);
        var e = Assert.Throws<SocketException>(() => client.Receive(new byte[10]));
        Assert.That(e!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused));
    }

    [Test]
    public void Closing_wakes_a_blocked_receiver()
    {
        using var pair = new HostedPair();
        var socket = Bound(pair.A, 5002);
        var receiving = Task.Run(() => socket.TryReceiveFrom(new byte[10], SocketFlags.None, out _));
        Thread.Sleep(50);
        socket.Close();
        Assert.That(receiving.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(receiving.Result, Is.EqualTo(Errno.EBADF));
    }

    [Test]
    public void Datagram_boundaries_are_kept_and_a_short_buffer_truncates()
    {
        using var pair = new HostedPair();
        using var server = Bound(pair.B, 6002);
        server.ReceiveTimeout = TimeSpan.FromSeconds(5);
        using var client = UserSocket.Udp(pair.A);
        client.SendTo(new byte[] { 1, 2, 3, 4, 5 }, At(HostedPair.AddressB, 6002));
        client.SendTo(new byte[] { 6 }, At(HostedPair.AddressB, 6002));
        var small = new byte[2];
        var first = server.ReceiveFrom(small);
        Assert.That(first.Truncated, Is.True);
        Assert.That(small, Is.EqualTo(new byte[] { 1, 2 }));
        var second = server.ReceiveFrom(new byte[10]);
        Assert.That(second.Length, Is.EqualTo(1), "the rest of the first datagram is gone, as in BSD");
    }

    [Test]
    public void Unsupported_kinds_of_socket_are_refused_with_the_bsd_error()
    {
        using var pair = new HostedPair();
        Assert.That(UserSocket.TryCreate(pair.A, AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp, out _), Is.EqualTo(Errno.EAFNOSUPPORT));
        Assert.That(UserSocket.TryCreate(pair.A, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Tcp, out _), Is.EqualTo(Errno.EPROTONOSUPPORT));
        Assert.That(UserSocket.TryCreate(pair.A, AddressFamily.InterNetwork, SocketType.Seqpacket, ProtocolType.Unspecified, out _), Is.EqualTo(Errno.ESOCKTNOSUPPORT));
    }

    [Test]
    public void A_flood_beyond_the_receive_buffer_is_dropped_and_counted_not_lost_silently()
    {
        using var pair = new HostedPair();
        using var server = Bound(pair.B, 6003);
        server.ReceiveBufferSize = 10 * (1000 + DatagramQueue.Overhead);
        using var client = UserSocket.Udp(pair.A);
        // Resolve B first: datagrams waiting for ARP are bounded too, and that is another test.
        client.SendTo([0], At(HostedPair.AddressB, 9));
        var resolved = DateTime.UtcNow.AddSeconds(10);
        while (pair.B.Stack.Counters[Counter.UdpReceived] == 0 && DateTime.UtcNow < resolved) Thread.Sleep(5);
        for (int i = 0; i < 50; i++) client.SendTo(new byte[1000], At(HostedPair.AddressB, 6003));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.ReceiveBufferDrops + 10 < 50 && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Assert.That(server.ReceiveBufferDrops, Is.EqualTo(40));
        Assert.That(pair.B.Stack.Counters[DropReason.UdpReceiveBufferFull], Is.EqualTo(40));
    }
}
