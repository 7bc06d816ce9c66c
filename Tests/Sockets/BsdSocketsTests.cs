using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Sockets;

/// <summary>The descriptor API reads like C: -1 and errno on failure.</summary>
public class BsdSocketsTests : BsdSocketPairFixture
{

    private int UdpSocket(BsdSockets api)
    {
        int fd = api.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.That(fd, Is.GreaterThanOrEqualTo(3), "descriptors start after stdin, stdout, stderr");
        return fd;
    }

    private int Server(ushort port)
    {
        int fd = UdpSocket(b);
        Assert.That(b.Bind(fd, new Endpoint(Ipv4Address.Any, port)), Is.Zero);
        Assert.That(b.SetSockOpt(fd, SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout, 5000), Is.Zero);
        return fd;
    }

    [Test]
    public void Socket_bind_sendto_recvfrom_close_as_in_C()
    {
        int server = Server(7000);
        int client = UdpSocket(a);
        Assert.That(a.SendTo(client, "hi"u8, SocketFlags.None, new Endpoint(HostedPair.AddressB, 7000)), Is.EqualTo(2));
        var buffer = new byte[10];
        int n = b.RecvFrom(server, buffer, SocketFlags.None, out var from);
        Assert.That(n, Is.EqualTo(2));
        Assert.That(from.Address, Is.EqualTo(HostedPair.AddressA));
        Assert.That(a.GetSockName(client, out var local), Is.Zero);
        Assert.That(from.Port, Is.EqualTo(local.Port));
        Assert.That(a.Close(client), Is.Zero);
        Assert.That(a.Close(client), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EBADF));
    }

    [Test]
    public void A_second_bind_to_the_same_port_fails_with_eaddrinuse_unless_both_reuse()
    {
        Server(7001);
        int second = UdpSocket(b);
        Assert.That(b.Bind(second, new Endpoint(Ipv4Address.Any, 7001)), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EADDRINUSE));
        Assert.That(Errno.EADDRINUSE.ToSocketError(), Is.EqualTo(SocketError.AddressAlreadyInUse));

        int r1 = UdpSocket(b), r2 = UdpSocket(b);
        b.SetSockOpt(r1, SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, 1);
        b.SetSockOpt(r2, SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, 1);
        Assert.That(b.Bind(r1, new Endpoint(Ipv4Address.Any, 7002)), Is.Zero);
        Assert.That(b.Bind(r2, new Endpoint(Ipv4Address.Any, 7002)), Is.Zero);
    }

    [Test]
    public void O_NONBLOCK_through_fcntl_gives_eagain()
    {
        int fd = Server(7003);
        Assert.That(b.Fcntl(fd, FcntlCommand.SetFlags, BsdSockets.O_NONBLOCK), Is.Zero);
        Assert.That(b.Fcntl(fd, FcntlCommand.GetFlags) & BsdSockets.O_NONBLOCK, Is.EqualTo(BsdSockets.O_NONBLOCK));
        Assert.That(b.Recv(fd, new byte[4]), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EAGAIN));
    }

    [Test]
    public void FIONREAD_tells_the_size_of_the_next_datagram()
    {
        int server = Server(7004);
        int client = UdpSocket(a);
        a.SendTo(client, new byte[123], SocketFlags.None, new Endpoint(HostedPair.AddressB, 7004));
        var peek = new byte[1];
        Assert.That(b.Recv(server, peek, SocketFlags.Peek), Is.EqualTo(1), "MSG_PEEK waits for it and leaves it queued");
        int available = 0;
        Assert.That(b.Ioctl(server, IoctlRequest.FIONREAD, ref available), Is.Zero);
        Assert.That(available, Is.EqualTo(123));
    }

    [Test]
    public void Socket_options_read_back_and_unknown_ones_are_enoprotoopt()
    {
        int fd = UdpSocket(a);
        Assert.That(a.SetSockOpt(fd, SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer, 4096), Is.Zero);
        Assert.That(a.SetSockOpt(fd, SocketOptionLevel.Socket, SocketOptionName.SendBuffer, 8192), Is.Zero);
        Assert.That(a.SetSockOpt(fd, SocketOptionLevel.IP, SocketOptionName.IpTimeToLive, 7), Is.Zero);
        Assert.That(a.SetSockOpt(fd, SocketOptionLevel.Socket, SocketOptionName.Broadcast, 1), Is.Zero);
        foreach (var (level, name, expected) in new[]
        {
            (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer, 4096),
            (SocketOptionLevel.Socket, SocketOptionName.SendBuffer, 8192),
            (SocketOptionLevel.IP, SocketOptionName.IpTimeToLive, 7),
            (SocketOptionLevel.Socket, SocketOptionName.Broadcast, 1),
            (SocketOptionLevel.Socket, SocketOptionName.Type, (int)SocketType.Dgram),
            (SocketOptionLevel.Socket, SocketOptionName.Error, 0),
        })
        {
            Assert.That(a.GetSockOpt(fd, level, name, out int value), Is.Zero, name.ToString());
            Assert.That(value, Is.EqualTo(expected), name.ToString());
        }
        Assert.That(a.SetSockOpt(fd, SocketOptionLevel.IP, SocketOptionName.IpTimeToLive, 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL));
        // IPPROTO_TCP options on a UDP socket: ENOPROTOOPT, as Linux (SO_KEEPALIVE itself is accepted there, as in Linux).
        Assert.That(a.SetSockOpt(fd, SocketOptionLevel.Tcp, SocketOptionName.NoDelay, 1), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOPROTOOPT));
        Assert.That(a.SetSockOpt(fd, SocketOptionLevel.Socket, SocketOptionName.DontRoute, 1), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOPROTOOPT), "an option the stack does not know");
    }

    [Test]
    public void The_ttl_option_reaches_the_wire()
    {
        int server = Server(7005);
        int raw = b.Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Udp);
        b.SetSockOpt(raw, SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout, 5000);
        int client = UdpSocket(a);
        a.SetSockOpt(client, SocketOptionLevel.IP, SocketOptionName.IpTimeToLive, 9);
        a.SendTo(client, [1], SocketFlags.None, new Endpoint(HostedPair.AddressB, 7005));
        var datagram = new byte[100];
        Assert.That(b.Recv(raw, datagram), Is.GreaterThan(28));
        Assert.That(datagram[8], Is.EqualTo(9), "the IPv4 TTL field");
        Assert.That(b.Recv(server, new byte[4]), Is.EqualTo(1));
    }

    [Test]
    public void Sendmsg_gathers_and_recvmsg_scatters_with_source_and_truncation()
    {
        int server = Server(7006);
        int client = UdpSocket(a);
        var message = new MessageHeader
        {
            Name = new Endpoint(HostedPair.AddressB, 7006),
            Buffers = [new ArraySegment<byte>([1, 2, 3]), new ArraySegment<byte>([4, 5])],
        };
        Assert.That(a.SendMsg(client, message), Is.EqualTo(5));

        var first = new byte[2];
        var second = new byte[2];
        var received = new MessageHeader { Buffers = [new ArraySegment<byte>(first), new ArraySegment<byte>(second)] };
        Assert.That(b.RecvMsg(server, received), Is.EqualTo(4));
        Assert.That(first, Is.EqualTo(new byte[] { 1, 2 }));
        Assert.That(second, Is.EqualTo(new byte[] { 3, 4 }));
        Assert.That(received.Flags, Is.EqualTo(SocketFlags.Truncated));
        Assert.That(received.Name?.Address, Is.EqualTo(HostedPair.AddressA));
    }

    [Test]
    public void Connect_getpeername_and_send_on_a_datagram_socket()
    {
        int server = Server(7007);
        int client = UdpSocket(a);
        Assert.That(a.GetPeerName(client, out _), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOTCONN));
        Assert.That(a.Send(client, [1]), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EDESTADDRREQ));
        Assert.That(a.Connect(client, new Endpoint(HostedPair.AddressB, 7007)), Is.Zero);
        Assert.That(a.GetPeerName(client, out var peer), Is.Zero);
        Assert.That(peer, Is.EqualTo(new Endpoint(HostedPair.AddressB, 7007)));
        Assert.That(a.Send(client, [1, 2]), Is.EqualTo(2));
        Assert.That(b.Recv(server, new byte[4]), Is.EqualTo(2));
    }

    [Test]
    public void Select_reports_the_readable_descriptors()
    {
        int quiet = Server(7008);
        int busy = Server(7009);
        int client = UdpSocket(a);
        var read = new List<int> { quiet, busy };
        Assert.That(b.Select(read, null, null, TimeSpan.Zero), Is.Zero, "nothing yet");
        a.SendTo(client, [1], SocketFlags.None, new Endpoint(HostedPair.AddressB, 7009));
        read = [quiet, busy];
        Assert.That(b.Select(read, null, null, TimeSpan.FromSeconds(10)), Is.EqualTo(1));
        Assert.That(read, Is.EqualTo(new[] { busy }));
    }

    [Test]
    public void Calls_on_an_unknown_descriptor_fail_with_ebadf()
    {
        Assert.That(a.Bind(999, new Endpoint(Ipv4Address.Any, 1)), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EBADF));
        Assert.That(a.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Udp), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EPROTONOSUPPORT));
    }
}
