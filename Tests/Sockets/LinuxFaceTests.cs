using System.Buffers.Binary;
using System.Runtime.InteropServices;
using UserStack.Sockets.Api;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;
using static UserStack.Sockets.Api.Linux;

namespace UserStack.Tests.Sockets;

/// <summary>
/// The C-like face with Linux x86-64 numbers, between two hosted stacks. Linux is the reference:
/// man 2 socket, man 2 fcntl, man 2 ioctl (ioctl_socket), man 7 socket, man 7 ip, man 7 tcp.
/// </summary>
public class LinuxFaceTests : BsdSocketPairFixture
{
    private static ushort nextPort = 9100;

    private static byte[] Int(int v) => BitConverter.GetBytes(v);

    private static void Timeout(BsdSockets api, int fd, int seconds = 5)
    {
        var tv = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(tv, seconds);
        Assert.That(api.SetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, tv), Is.Zero);
    }

    /// <summary>A listener on B, a client on A connected to it, and the accepted end on B (all blocking, 5 s receive timeouts).</summary>
    private (int Listener, int Client, int Server, ushort Port) Connected(Action<int>? beforeConnect = null)
    {
        ushort port = nextPort++;
        int listener = b.Socket(AF_INET, SOCK_STREAM, 0);
        Assert.That(b.Bind(listener, new Endpoint(Ipv4Address.Any, port)), Is.Zero);
        Assert.That(b.Listen(listener, 8), Is.Zero);
        Timeout(b, listener);
        int client = a.Socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        beforeConnect?.Invoke(client);
        Assert.That(a.Connect(client, new Endpoint(HostedPair.AddressB, port)), Is.Zero);
        int server = b.Accept(listener, out _);
        Assert.That(server, Is.GreaterThan(listener));
        Timeout(a, client);
        Timeout(b, server);
        return (listener, client, server, port);
    }

    private int Udp(BsdSockets api, ushort port = 0)
    {
        int fd = api.Socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
        Assert.That(fd, Is.GreaterThanOrEqualTo(3));
        if (port != 0) Assert.That(api.Bind(fd, new Endpoint(Ipv4Address.Any, port)), Is.Zero);
        Timeout(api, fd);
        return fd;
    }

    // ---- constants and descriptors ---------------------------------------------------------

    [Test]
    public void ConstantsHaveLinuxValuesAndResolveByName()
    {
        Assert.That((SOCK_NONBLOCK, SOCK_CLOEXEC, SO_RCVBUF, SO_RCVTIMEO, SO_PROTOCOL, SO_DOMAIN), Is.EqualTo((0x800, 0x80000, 8, 20, 38, 39)));
        Assert.That((TCP_INFO, TCP_CONGESTION, TCP_USER_TIMEOUT, MSG_WAITALL, MSG_NOSIGNAL, MSG_MORE), Is.EqualTo((11, 13, 18, 0x100, 0x4000, 0x8000)));
        Assert.That((FIONREAD, SIOCOUTQ, FIONBIO, SIOCATMARK, POLLRDHUP, POLLWRNORM), Is.EqualTo((0x541B, 0x5411, 0x5421, 0x8905, 0x2000, 0x100)));
        foreach (var (name, value) in Linux.Constants)
        {
            Assert.That(Linux.TryGetConstant(name, out long v), Is.True, name);
            Assert.That(v, Is.EqualTo(value), name);
        }
        Assert.That(Linux.TryGetConstant("SO_RCVBUF", out long rcvbuf) && rcvbuf == 8, Is.True);
        Assert.That(Linux.TryGetConstant("SIOCINQ", out long inq) && inq == 0x541B, Is.True);
        Assert.That(Linux.TryGetConstant("EINPROGRESS", out long errno) && errno == 115, Is.True, "errno names resolve too");
        Assert.That(Linux.TryGetConstant("SO_NOSUCH", out _), Is.False);
        Assert.That(Linux.Constants.Count, Is.GreaterThanOrEqualTo(90));
    }

    [Test]
    public void DescriptorsAreTheLowestFreeFromThree()
    {
        int first = a.Socket(AF_INET, SOCK_STREAM, 0);
        int second = a.Socket(AF_INET, SOCK_DGRAM, 0);
        Assert.That((first, second), Is.EqualTo((3, 4)));
        Assert.That(a.Close(first), Is.Zero);
        Assert.That(a.Socket(AF_INET, SOCK_STREAM, 0), Is.EqualTo(3), "close() frees 3 and the next socket takes it, as Linux");
        Assert.That(a.Socket(AF_INET, SOCK_STREAM, 0), Is.EqualTo(5));
    }

    [Test]
    public void SocketTypeFlagsSetNonBlockAndCloseOnExec()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        Assert.That(a.Fcntl(fd, F_GETFL, 0), Is.EqualTo(O_RDWR | O_NONBLOCK));
        Assert.That(a.Fcntl(fd, F_GETFD, 0), Is.EqualTo(FD_CLOEXEC));
        Assert.That(a.Socket(AF_INET, SOCK_STREAM | 0x100, 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL), "unknown type bits, as Linux's sys_socket");
        Assert.That(a.Socket(10, SOCK_STREAM, 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EAFNOSUPPORT), "AF_INET6 is not offered");
        Assert.That(a.Socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EPROTONOSUPPORT));
    }

    [Test]
    public void FcntlGetFlReportsReadWriteAndNonBlock()
    {
        int fd = a.Socket(AF_INET, SOCK_DGRAM, 0);
        Assert.That(a.Fcntl(fd, F_GETFL, 0), Is.EqualTo(0x2), "Linux: O_RDWR for a socket");
        Assert.That(a.Fcntl(fd, F_SETFL, O_NONBLOCK | O_WRONLY), Is.Zero, "the access mode is ignored");
        Assert.That(a.Fcntl(fd, F_GETFL, 0), Is.EqualTo(0x802));
        Assert.That(a.Recv(fd, new byte[4], 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EAGAIN));
        Assert.That(a.Fcntl(fd, F_SETFL, 0), Is.Zero);
        Assert.That(a.Fcntl(fd, F_GETFL, 0), Is.EqualTo(O_RDWR));
        Assert.That(a.Fcntl(fd, F_GETFD, 0), Is.Zero);
        Assert.That(a.Fcntl(fd, F_SETFD, FD_CLOEXEC), Is.Zero);
        Assert.That(a.Fcntl(fd, F_GETFD, 0), Is.EqualTo(FD_CLOEXEC));
        Assert.That(a.Fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL));
        Assert.That(a.Fcntl(99, F_GETFL, 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EBADF));
    }

    [Test]
    public void Accept4GivesTheNextDescriptorWithItsOwnFlags()
    {
        ushort port = nextPort++;
        int listener = b.Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        Assert.That(listener, Is.EqualTo(3));
        b.Bind(listener, new Endpoint(Ipv4Address.Any, port));
        b.Listen(listener, 4);
        Assert.That(b.Accept4(listener, out _, 0), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EAGAIN), "non-blocking listener, nothing pending");
        int client = a.Socket(AF_INET, SOCK_STREAM, 0);
        Assert.That(a.Connect(client, new Endpoint(HostedPair.AddressB, port)), Is.Zero);
        var pfd = new[] { new PollFd(listener, POLLIN) };
        Assert.That(b.Poll(pfd, 5000), Is.EqualTo(1));
        int server = b.Accept4(listener, out var peer, SOCK_NONBLOCK | SOCK_CLOEXEC);
        Assert.That(server, Is.EqualTo(4), "packetdrill's socket() = 3 then accept() = 4");
        Assert.That(peer.Address, Is.EqualTo(HostedPair.AddressA));
        Assert.That(b.Fcntl(server, F_GETFL, 0), Is.EqualTo(O_RDWR | O_NONBLOCK));
        Assert.That(b.Fcntl(server, F_GETFD, 0), Is.EqualTo(FD_CLOEXEC));
        Assert.That(b.Accept4(listener, out _, 0x1), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EINVAL), "flags other than SOCK_NONBLOCK | SOCK_CLOEXEC");
    }

    // ---- connect -----------------------------------------------------------------------------

    [Test]
    public void NonBlockingConnectIsInProgressThenAlready()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        var nobody = new Endpoint(Ipv4Address.Parse("10.7.0.99"), 80); // no ARP answer: stays in SYN-SENT
        Assert.That(a.Connect(fd, nobody), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINPROGRESS));
        Assert.That(a.Connect(fd, nobody), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EALREADY));
        var pfd = new[] { new PollFd(fd, POLLOUT) };
        Assert.That(a.Poll(pfd, 0), Is.Zero, "not writable while connecting");
        Assert.That(a.Send(fd, [1], 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EAGAIN));
    }

    [Test]
    public void BlockingConnectToAClosedPortIsRefused()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM, 0);
        Assert.That(a.Connect(fd, new Endpoint(HostedPair.AddressB, 9)), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ECONNREFUSED));
    }

    [Test]
    public void NonBlockingConnectErrorIsReadOnceFromSoError()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        Assert.That(a.Connect(fd, new Endpoint(HostedPair.AddressB, 9)), Is.EqualTo(-1));
        var pfd = new[] { new PollFd(fd, POLLOUT) };
        Assert.That(a.Poll(pfd, 5000), Is.EqualTo(1));
        Assert.That(pfd[0].Revents & (POLLERR | POLLHUP), Is.EqualTo(POLLERR | POLLHUP), "refused: error and hang-up, as tcp_poll");
        Assert.That(a.GetSockOptInt(fd, SOL_SOCKET, SO_ERROR, out int error), Is.Zero);
        Assert.That(error, Is.EqualTo((int)Errno.ECONNREFUSED));
        Assert.That(a.GetSockOptInt(fd, SOL_SOCKET, SO_ERROR, out error), Is.Zero);
        Assert.That(error, Is.Zero, "SO_ERROR reads and clears (man 7 socket)");
    }

    // ---- send and receive flags ------------------------------------------------------------

    [Test]
    public void MsgPeekDoesNotConsumeStreamBytes()
    {
        var (_, client, server, _) = Connected();
        Assert.That(a.Send(client, "hello"u8, MSG_NOSIGNAL), Is.EqualTo(5));
        var buffer = new byte[5];
        Assert.That(b.Recv(server, buffer, MSG_PEEK | MSG_WAITALL), Is.EqualTo(5));
        Assert.That(b.Recv(server, buffer, 0), Is.EqualTo(5), "the peeked bytes are still there");
        Assert.That(buffer, Is.EqualTo("hello"u8.ToArray()));
    }

    [Test]
    public void MsgWaitAllWaitsForTheWholeBuffer()
    {
        var (_, client, server, _) = Connected();
        Assert.That(a.Send(client, "abc"u8, 0), Is.EqualTo(3));
        var buffer = new byte[6];
        var receiving = Task.Run(() => b.Recv(server, buffer, MSG_WAITALL));
        SpinWait.SpinUntil(() => pair.B.BlockedCalls > 0 || receiving.IsCompleted, 5000);
        Assert.That(a.Send(client, "def"u8, 0), Is.EqualTo(3));
        Assert.That(receiving.Wait(10_000), Is.True);
        Assert.That(receiving.Result, Is.EqualTo(6));
        Assert.That(buffer, Is.EqualTo("abcdef"u8.ToArray()));
    }

    [Test]
    public void MsgWaitAllStopsAtEndOfStream()
    {
        var (_, client, server, _) = Connected();
        a.Send(client, "xy"u8, 0);
        Assert.That(a.Shutdown(client, SHUT_WR), Is.Zero);
        Assert.That(b.Recv(server, new byte[10], MSG_WAITALL), Is.EqualTo(2), "the FIN ends the wait with what came");
        Assert.That(b.Recv(server, new byte[10], MSG_WAITALL), Is.Zero);
    }

    [Test]
    public void MsgTruncOnAStreamDiscardsTheBytes()
    {
        var (_, client, server, _) = Connected();
        a.Send(client, "12345"u8, 0);
        var buffer = new byte[3];
        Assert.That(b.Recv(server, buffer, MSG_TRUNC | MSG_WAITALL), Is.EqualTo(3), "Linux's tcp_recvmsg: taken, not copied");
        Assert.That(buffer, Is.EqualTo(new byte[3]));
        Assert.That(b.Recv(server, buffer, 0), Is.EqualTo(2));
        Assert.That(buffer[..2], Is.EqualTo("45"u8.ToArray()));
    }

    [Test]
    public void MsgDontWaitGivesEagainOnABlockingSocket()
    {
        var (_, client, server, _) = Connected();
        Assert.That(b.Recv(server, new byte[4], MSG_DONTWAIT), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EAGAIN));
        int udp = Udp(a);
        Assert.That(a.Recv(udp, new byte[4], MSG_DONTWAIT), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EAGAIN));
    }

    [Test]
    public void MsgOobReceiveIsEinvalWithoutUrgentData()
    {
        var (_, client, server, _) = Connected();
        Assert.That(b.Recv(server, new byte[4], MSG_OOB), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EINVAL), "tcp_recv_urg with no urgent mark");
        int value = 7;
        Assert.That(b.Ioctl(server, SIOCATMARK, ref value), Is.Zero);
        Assert.That(value, Is.Zero);
    }

    [Test]
    public void MsgTruncOnADatagramReturnsItsRealLengthAndFlagsIt()
    {
        ushort port = nextPort++;
        int server = Udp(b, port);
        int client = Udp(a);
        var to = new Endpoint(HostedPair.AddressB, port);
        Assert.That(a.SendTo(client, new byte[100], 0, to), Is.EqualTo(100));
        Assert.That(a.SendTo(client, new byte[50], 0, to), Is.EqualTo(50));
        Assert.That(b.Recv(server, new byte[10], MSG_PEEK | MSG_TRUNC), Is.EqualTo(100), "udp(7): MSG_TRUNC returns the real length");
        var message = new MessageHeader { Buffers = [new ArraySegment<byte>(new byte[10])] };
        Assert.That(b.RecvMsg(server, message, 0), Is.EqualTo(10));
        Assert.That(message.MessageFlags, Is.EqualTo(MSG_TRUNC), "msg_flags reports the cut");
        message = new MessageHeader { Buffers = [new ArraySegment<byte>(new byte[64])] };
        Assert.That(b.RecvMsg(server, message, 0), Is.EqualTo(50));
        Assert.That(message.MessageFlags, Is.Zero);
    }

    [Test]
    public void ReadvAndWritevScatterAndGather()
    {
        var (_, client, server, _) = Connected();
        Assert.That(a.Writev(client, [new ArraySegment<byte>([1, 2]), new ArraySegment<byte>([3, 4, 5])]), Is.EqualTo(5));
        var first = new byte[3];
        var second = new byte[2];
        Assert.That(b.Recv(server, new byte[5], MSG_PEEK | MSG_WAITALL), Is.EqualTo(5));
        Assert.That(b.Readv(server, [new ArraySegment<byte>(first), new ArraySegment<byte>(second)]), Is.EqualTo(5));
        Assert.That((first, second), Is.EqualTo((new byte[] { 1, 2, 3 }, new byte[] { 4, 5 })));
    }

    [Test]
    public void SendOnAnUnconnectedStreamIsEpipe()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM, 0);
        Assert.That(a.Send(fd, [1], MSG_NOSIGNAL), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EPIPE), "sk_stream_wait_connect; no SIGPIPE here either way");
    }

    // ---- ioctl -------------------------------------------------------------------------------

    [Test]
    public void IoctlCountsQueuesAndRefusesUnknownRequests()
    {
        var (listener, client, server, _) = Connected();
        int value = 0;
        Assert.That(b.Ioctl(listener, FIONREAD, ref value), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EINVAL), "SIOCINQ on a listener, as tcp_ioctl");
        Assert.That(b.Ioctl(listener, SIOCOUTQ, ref value), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EINVAL));
        a.Send(client, new byte[1000], 0);
        Assert.That(b.Recv(server, new byte[1], MSG_PEEK), Is.EqualTo(1));
        SpinWait.SpinUntil(() => { int n = 0; b.Ioctl(server, FIONREAD, ref n); return n == 1000; }, 5000);
        Assert.That(b.Ioctl(server, FIONREAD, ref value), Is.Zero);
        Assert.That(value, Is.EqualTo(1000));
        Assert.That(a.Ioctl(client, SIOCOUTQ, ref value), Is.Zero);
        Assert.That(value, Is.InRange(0, 1000));
        SpinWait.SpinUntil(() => { int n = -1; a.Ioctl(client, SIOCOUTQ, ref n); return n == 0; }, 5000);
        Assert.That(a.Ioctl(client, SIOCOUTQ, ref value), Is.Zero);
        Assert.That(value, Is.Zero, "all acknowledged");
        value = 1;
        Assert.That(b.Ioctl(server, FIONBIO, ref value), Is.Zero);
        Assert.That(b.Fcntl(server, F_GETFL, 0), Is.EqualTo(O_RDWR | O_NONBLOCK));
        Assert.That(b.Ioctl(server, 0x8912 /* SIOCGIFCONF */, ref value), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.ENOTTY));
    }

    // ---- socket options ----------------------------------------------------------------------

    [Test]
    public void SoRcvbufAndSoSndbufAreDoubledAndClamped()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM, 0);
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_RCVBUF, 10000), Is.Zero);
        Assert.That(a.GetSockOptInt(fd, SOL_SOCKET, SO_RCVBUF, out int rcv), Is.Zero);
        Assert.That(rcv, Is.EqualTo(20000), "man 7 socket: the kernel doubles the value");
        a.SetSockOpt(fd, SOL_SOCKET, SO_RCVBUF, 1);
        a.GetSockOptInt(fd, SOL_SOCKET, SO_RCVBUF, out rcv);
        Assert.That(rcv, Is.EqualTo(2304), "SOCK_MIN_RCVBUF");
        a.SetSockOpt(fd, SOL_SOCKET, SO_SNDBUF, int.MaxValue);
        a.GetSockOptInt(fd, SOL_SOCKET, SO_SNDBUF, out int snd);
        Assert.That(snd, Is.EqualTo(2 * 212992), "wmem_max, doubled");
        a.SetSockOpt(fd, SOL_SOCKET, SO_SNDBUF, 0);
        a.GetSockOptInt(fd, SOL_SOCKET, SO_SNDBUF, out snd);
        Assert.That(snd, Is.EqualTo(4608), "SOCK_MIN_SNDBUF");
    }

    [Test]
    public void SoRcvbufBeforeConnectSizesTheTcpReceiveBuffer()
    {
        var (_, client, _, _) = Connected(fd => Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_RCVBUF, 8192), Is.Zero));
        Assert.That(a[client]!.ReceiveBufferSize, Is.EqualTo(8192), "the data buffer is the half Linux does not keep for bookkeeping");
        Assert.That(a.GetTcpInfo(client)!.ReceiveWindowScale, Is.Zero, "an 8 KiB buffer needs no window scale (the default 256 KiB needs 3)");
    }

    [Test]
    public void IntOptionShorterThanAnIntIsEinvalAndGetsockoptTruncates()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM, 0);
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_REUSEADDR, new byte[] { 1, 0 }), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL));
        Assert.That(a.SetSockOpt(fd, SOL_TCP, TCP_NODELAY, new byte[] { 1 }), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL));
        var value = new byte[8];
        int length = 8;
        Assert.That(a.GetSockOpt(fd, SOL_SOCKET, SO_TYPE, value, ref length), Is.Zero);
        Assert.That((length, BitConverter.ToInt32(value)), Is.EqualTo((4, SOCK_STREAM)), "the real length is written back");
        length = 2;
        Assert.That(a.GetSockOpt(fd, SOL_SOCKET, SO_TYPE, value, ref length), Is.Zero);
        Assert.That(length, Is.EqualTo(2));
        length = -1;
        Assert.That(a.GetSockOpt(fd, SOL_SOCKET, SO_TYPE, value, ref length), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void SocketIdentityOptionsReadBack()
    {
        int tcp = a.Socket(AF_INET, SOCK_STREAM, 0);
        int udp = a.Socket(AF_INET, SOCK_DGRAM, 0);
        int raw = a.Socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
        foreach (var (fd, type, protocol) in new[] { (tcp, SOCK_STREAM, IPPROTO_TCP), (udp, SOCK_DGRAM, IPPROTO_UDP), (raw, SOCK_RAW, IPPROTO_ICMP) })
        {
            a.GetSockOptInt(fd, SOL_SOCKET, SO_TYPE, out int t);
            a.GetSockOptInt(fd, SOL_SOCKET, SO_PROTOCOL, out int p);
            a.GetSockOptInt(fd, SOL_SOCKET, SO_DOMAIN, out int d);
            Assert.That((t, p, d), Is.EqualTo((type, protocol, AF_INET)));
        }
        a.GetSockOptInt(tcp, SOL_SOCKET, SO_ACCEPTCONN, out int accepting);
        Assert.That(accepting, Is.Zero);
        a.Listen(tcp, 1);
        a.GetSockOptInt(tcp, SOL_SOCKET, SO_ACCEPTCONN, out accepting);
        Assert.That(accepting, Is.EqualTo(1));
        Assert.That(a.SetSockOpt(tcp, SOL_SOCKET, SO_TYPE, 1), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOPROTOOPT), "read-only in Linux");
        Assert.That(a.SetSockOpt(tcp, SOL_SOCKET, 77, 1), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOPROTOOPT));
        Assert.That(a.SetSockOpt(udp, SOL_TCP, TCP_NODELAY, 1), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOPROTOOPT), "a TCP option on UDP");
        Assert.That(a.GetSockOptInt(udp, SOL_TCP, TCP_INFO, out _), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOPROTOOPT));
    }

    [Test]
    public void FlagOptionsReadBackAsSet()
    {
        int tcp = a.Socket(AF_INET, SOCK_STREAM, 0);
        foreach (var (level, name) in new[] { (SOL_SOCKET, SO_REUSEADDR), (SOL_SOCKET, SO_REUSEPORT), (SOL_SOCKET, SO_KEEPALIVE), (SOL_SOCKET, SO_BROADCAST), (SOL_SOCKET, SO_OOBINLINE), (SOL_TCP, TCP_NODELAY), (SOL_TCP, TCP_CORK) })
        {
            Assert.That(a.SetSockOpt(tcp, level, name, 1), Is.Zero, $"{level}/{name}");
            a.GetSockOptInt(tcp, level, name, out int on);
            Assert.That(on, Is.EqualTo(1), $"{level}/{name}");
        }
        Assert.That(a.SetSockOpt(tcp, SOL_TCP, TCP_KEEPIDLE, 30), Is.Zero);
        Assert.That(a.SetSockOpt(tcp, SOL_TCP, TCP_KEEPINTVL, 5), Is.Zero);
        Assert.That(a.SetSockOpt(tcp, SOL_TCP, TCP_KEEPCNT, 4), Is.Zero);
        Assert.That(a.SetSockOpt(tcp, SOL_TCP, TCP_KEEPCNT, 128), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL), "MAX_TCP_KEEPCNT is 127");
        a.GetSockOptInt(tcp, SOL_TCP, TCP_KEEPIDLE, out int idle);
        a.GetSockOptInt(tcp, SOL_TCP, TCP_KEEPINTVL, out int interval);
        a.GetSockOptInt(tcp, SOL_TCP, TCP_KEEPCNT, out int count);
        Assert.That((idle, interval, count), Is.EqualTo((30, 5, 4)));
        Assert.That(a.SetSockOpt(tcp, SOL_TCP, TCP_USER_TIMEOUT, -1), Is.EqualTo(-1));
        Assert.That(a.SetSockOpt(tcp, SOL_TCP, TCP_USER_TIMEOUT, 1500), Is.Zero);
        a.GetSockOptInt(tcp, SOL_TCP, TCP_USER_TIMEOUT, out int user);
        Assert.That(user, Is.EqualTo(1500));
    }

    [Test]
    public void SoLingerIsAStructLinger()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM, 0);
        var linger = new byte[8];
        int length = 8;
        Assert.That(a.GetSockOpt(fd, SOL_SOCKET, SO_LINGER, linger, ref length), Is.Zero);
        Assert.That((length, BitConverter.ToInt32(linger, 0)), Is.EqualTo((8, 0)));
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_LINGER, new byte[4]), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL), "shorter than struct linger");
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_LINGER, [.. Int(1), .. Int(0)]), Is.Zero);
        Assert.That(a[fd]!.Linger, Is.EqualTo(TimeSpan.Zero), "l_onoff 1, l_linger 0: close() resets");
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_LINGER, [.. Int(1), .. Int(7)]), Is.Zero);
        a.GetSockOpt(fd, SOL_SOCKET, SO_LINGER, linger, ref length);
        Assert.That((BitConverter.ToInt32(linger, 0), BitConverter.ToInt32(linger, 4)), Is.EqualTo((1, 7)));
    }

    [Test]
    public void SoRcvtimeoIsAStructTimeval()
    {
        int fd = a.Socket(AF_INET, SOCK_DGRAM, 0);
        var tv = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(tv, 2);
        BinaryPrimitives.WriteInt64LittleEndian(tv.AsSpan(8), 500_000);
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, tv), Is.Zero);
        Assert.That(a[fd]!.ReceiveTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(2500)));
        var back = new byte[16];
        int length = 16;
        Assert.That(a.GetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, back, ref length), Is.Zero);
        Assert.That(back, Is.EqualTo(tv));
        BinaryPrimitives.WriteInt64LittleEndian(tv.AsSpan(8), 1_000_000);
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_SNDTIMEO, tv), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EDOM), "sock_set_timeout: tv_usec out of range");
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_SNDTIMEO, new byte[8]), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL));
        Assert.That(a.SetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, new byte[16]), Is.Zero);
        Assert.That(a[fd]!.ReceiveTimeout, Is.Null, "{0, 0} waits forever");
    }

    [Test]
    public void TcpMaxsegDefaultsTo536AndCapsTheMssBothWays()
    {
        var (_, client, server, _) = Connected(fd =>
        {
            Assert.That(a.GetSockOptInt(fd, SOL_TCP, TCP_MAXSEG, out int before), Is.Zero);
            Assert.That(before, Is.EqualTo(536), "TCP_MSS_DEFAULT before a connection");
            Assert.That(a.SetSockOpt(fd, SOL_TCP, TCP_MAXSEG, 87), Is.EqualTo(-1));
            Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL), "below TCP_MIN_MSS");
            Assert.That(a.SetSockOpt(fd, SOL_TCP, TCP_MAXSEG, 32768), Is.EqualTo(-1));
            Assert.That(a.SetSockOpt(fd, SOL_TCP, TCP_MAXSEG, 1000), Is.Zero);
            a.GetSockOptInt(fd, SOL_TCP, TCP_MAXSEG, out int set);
            Assert.That(set, Is.EqualTo(1000));
        });
        a.GetSockOptInt(client, SOL_TCP, TCP_MAXSEG, out int clientMss);
        b.GetSockOptInt(server, SOL_TCP, TCP_MAXSEG, out int serverMss);
        Assert.That(clientMss, Is.EqualTo(1000 - 12), "our cap, less the timestamp option");
        Assert.That(serverMss, Is.EqualTo(1000 - 12), "the peer saw 1000 in our SYN");
    }

    [Test]
    public void TcpCongestionIsANulPaddedNameWithRenoForNewReno()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM, 0);
        var name = new byte[16];
        int length = 16;
        Assert.That(a.GetSockOpt(fd, SOL_TCP, TCP_CONGESTION, name, ref length), Is.Zero);
        Assert.That(System.Text.Encoding.ASCII.GetString(name).TrimEnd('\0'), Is.EqualTo("cubic"));
        Assert.That(a.SetSockOpt(fd, SOL_TCP, TCP_CONGESTION, "reno\0"u8), Is.Zero);
        Assert.That(a.GetCongestionControl(fd), Is.EqualTo("newreno"));
        Array.Fill(name, (byte)0xff);
        a.GetSockOpt(fd, SOL_TCP, TCP_CONGESTION, name, ref length);
        Assert.That(name, Is.EqualTo("reno"u8.ToArray().Concat(new byte[12]).ToArray()));
        Assert.That(a.SetSockOpt(fd, SOL_TCP, TCP_CONGESTION, "vegas"u8), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void TcpInfoHasLinuxLayout()
    {
        var (_, client, server, _) = Connected();
        a.Send(client, new byte[3000], 0);
        Assert.That(b.Recv(server, new byte[3000], MSG_WAITALL), Is.EqualTo(3000));
        // The RTT sample comes with the ACK of the data: wait until it is in (nothing unacknowledged), not race it.
        Assert.That(SpinWait.SpinUntil(() => { int queued = -1; a.Ioctl(client, SIOCOUTQ, ref queued); return queued == 0; }, 10_000), Is.True);
        var info = new byte[300];
        int length = info.Length;
        Assert.That(a.GetSockOpt(client, SOL_TCP, TCP_INFO, info, ref length), Is.Zero);
        Assert.That(length, Is.EqualTo(BsdSockets.TcpInfoLength));
        Assert.That(info[0], Is.EqualTo(TCP_ESTABLISHED));
        Assert.That(info[5], Is.EqualTo(1 | 2 | 4), "TCPI_OPT_TIMESTAMPS | SACK | WSCALE");
        Assert.That(info[6], Is.EqualTo(3 | 3 << 4), "both sides shift by 3 for 256 KiB");
        uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(offset));
        Assert.That(U32(8), Is.GreaterThanOrEqualTo(200_000u), "tcpi_rto in microseconds");
        Assert.That(U32(16), Is.EqualTo(1448u), "tcpi_snd_mss");
        Assert.That(U32(60), Is.EqualTo(1500u), "tcpi_pmtu");
        Assert.That(U32(68), Is.GreaterThan(0u), "tcpi_rtt measured");
        Assert.That(U32(80), Is.GreaterThanOrEqualTo(10u), "tcpi_snd_cwnd in segments");
        Assert.That(U32(84), Is.EqualTo(1448u), "tcpi_advmss");
        length = 8;
        Assert.That(a.GetSockOpt(client, SOL_TCP, TCP_INFO, info, ref length), Is.Zero);
        Assert.That(length, Is.EqualTo(8), "truncated to the caller's length");
        int listener = b.Socket(AF_INET, SOCK_STREAM, 0);
        b.Listen(listener, 1);
        length = 1;
        b.GetSockOpt(listener, SOL_TCP, TCP_INFO, info, ref length);
        Assert.That(info[0], Is.EqualTo(TCP_LISTEN));
    }

    [Rfc(9293, "MUST-48"), Rfc(9293, "MUST-49")]
    [Test]
    public void IpTosAndIpTtlReachTheWireOfATcpConnection()
    {
        int sniffer = b.Socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
        Timeout(b, sniffer);
        var (_, client, _, _) = Connected(fd =>
        {
            Assert.That(a.SetSockOpt(fd, SOL_IP, IP_TOS, 0x13), Is.Zero);
            Assert.That(a.SetSockOpt(fd, SOL_IP, IP_TTL, 9), Is.Zero);
        });
        a.GetSockOptInt(client, SOL_IP, IP_TOS, out int tos);
        Assert.That(tos, Is.EqualTo(0x10), "a TCP socket keeps its own ECN bits (__ip_sock_set_tos)");
        var one = new byte[1];
        int length = 1;
        Assert.That(a.GetSockOpt(client, SOL_IP, IP_TTL, one, ref length), Is.Zero);
        Assert.That((length, one[0]), Is.EqualTo((1, (byte)9)), "an IP option read into one byte comes back as a byte");
        var datagram = new byte[100];
        Assert.That(b.Recv(sniffer, datagram, 0), Is.GreaterThanOrEqualTo(40), "the SYN");
        Assert.That((datagram[1], datagram[8]), Is.EqualTo(((byte)0x10, (byte)9)), "IPv4 TOS and TTL");
        Assert.That(a.SetSockOpt(client, SOL_IP, IP_TTL, 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL));
        Assert.That(a.SetSockOpt(client, SOL_IP, IP_TTL, -1), Is.Zero);
        a.GetSockOptInt(client, SOL_IP, IP_TTL, out int ttl);
        Assert.That(ttl, Is.EqualTo(64), "-1 is the default");
    }

    [Test]
    public void IpHdrinclSendsTheCallersHeaderOnARawSocket()
    {
        int udp = a.Socket(AF_INET, SOCK_DGRAM, 0);
        Assert.That(a.SetSockOpt(udp, SOL_IP, IP_HDRINCL, 1), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOPROTOOPT), "raw sockets only");
        int sniffer = b.Socket(AF_INET, SOCK_RAW, 253);
        Timeout(b, sniffer);
        int raw = a.Socket(AF_INET, SOCK_RAW, 253);
        Assert.That(a.SetSockOpt(raw, SOL_IP, IP_HDRINCL, 1), Is.Zero);
        a.GetSockOptInt(raw, SOL_IP, IP_HDRINCL, out int on);
        Assert.That(on, Is.EqualTo(1));
        var packet = new byte[24];
        packet[0] = 0x45; packet[1] = 0x20; packet[8] = 17; packet[9] = 253;
        HostedPair.AddressB.Write(packet.AsSpan(16));
        packet[20] = 0xab;
        Assert.That(a.SendTo(raw, packet, 0, new Endpoint(HostedPair.AddressB, 0)), Is.EqualTo(24));
        var got = new byte[64];
        Assert.That(b.Recv(sniffer, got, 0), Is.EqualTo(24));
        Assert.That((got[1], got[8], got[20]), Is.EqualTo(((byte)0x20, (byte)17, (byte)0xab)));
        Assert.That(Ipv4Address.Read(got.AsSpan(12)), Is.EqualTo(HostedPair.AddressA), "source 0.0.0.0 is filled in");
    }

    // ---- shutdown ----------------------------------------------------------------------------

    [Test]
    public void ShutdownTakesShutNumbersAndNeedsAConnection()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM, 0);
        Assert.That(a.Shutdown(fd, SHUT_WR), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOTCONN));
        Assert.That(a.Shutdown(fd, 3), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EINVAL));
        int udp = a.Socket(AF_INET, SOCK_DGRAM, 0);
        Assert.That(a.Shutdown(udp, SHUT_RD), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOTCONN));
        a.Connect(udp, new Endpoint(HostedPair.AddressB, 9));
        Assert.That(a.Shutdown(udp, SHUT_RDWR), Is.Zero);
        Assert.That(a.Recv(udp, new byte[4], 0), Is.Zero, "shut for reading: 0");
        Assert.That(a.Send(udp, [1], 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EPIPE));

        var (_, client, server, _) = Connected();
        Assert.That(a.Shutdown(client, SHUT_WR), Is.Zero);
        Assert.That(b.Recv(server, new byte[4], 0), Is.Zero, "the peer reads the end of the stream");
        Assert.That(a.Send(client, [1], 0), Is.EqualTo(-1));
        Assert.That(a.Errno, Is.EqualTo(Errno.EPIPE));
    }
}
