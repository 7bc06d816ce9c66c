using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Drivers.Memory;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;
using static UserStack.Sockets.Api.Linux;

namespace UserStack.Tests.Sockets;

/// <summary>poll(2) with Linux's rules (man 2 poll; the kernel's tcp_poll and datagram_poll), and timeouts on the host's clock.</summary>
public class PollTests : BsdSocketPairFixture
{

    private const short All = (short)(POLLIN | POLLOUT | POLLRDHUP | POLLPRI);

    private (int Client, int Server) Connected(ushort port)
    {
        int listener = b.Socket(AF_INET, SOCK_STREAM, 0);
        b.Bind(listener, new Endpoint(Ipv4Address.Any, port));
        b.Listen(listener, 4);
        int client = a.Socket(AF_INET, SOCK_STREAM, 0);
        Assert.That(a.Connect(client, new Endpoint(HostedPair.AddressB, port)), Is.Zero);
        var pfd = new[] { new PollFd(listener, POLLIN) };
        Assert.That(b.Poll(pfd, 5000), Is.EqualTo(1), "a listener is readable when a connection waits");
        Assert.That(pfd[0].Revents, Is.EqualTo(POLLIN));
        return (client, b.Accept(listener, out _));
    }

    private short Revents(BsdSockets api, int fd, short events = All, int timeout = 0)
    {
        var pfd = new[] { new PollFd(fd, events) };
        api.Poll(pfd, timeout);
        return pfd[0].Revents;
    }

    [Test]
    public void PollReportsNvalForAClosedDescriptorAndSkipsNegativeOnes()
    {
        int fd = a.Socket(AF_INET, SOCK_DGRAM, 0);
        a.Close(fd);
        var fds = new[] { new PollFd(fd, POLLIN), new PollFd(-1, POLLIN) { Revents = 99 } };
        Assert.That(a.Poll(fds, 0), Is.EqualTo(1));
        Assert.That(fds[0].Revents, Is.EqualTo(POLLNVAL));
        Assert.That(fds[1].Revents, Is.Zero, "a negative fd is ignored and its revents cleared");
    }

    [Test]
    public void PollOnAFreshTcpSocketIsWritableAndHungUp()
    {
        int fd = a.Socket(AF_INET, SOCK_STREAM, 0);
        // tcp_poll: state CLOSE gives POLLHUP; an empty send buffer POLLOUT (Linux answers 0x14 for POLLIN|POLLOUT).
        Assert.That(Revents(a, fd, (short)(POLLIN | POLLOUT)), Is.EqualTo(POLLOUT | POLLHUP));
        int listener = a.Socket(AF_INET, SOCK_STREAM, 0);
        a.Listen(listener, 1);
        Assert.That(a.Poll([new PollFd(listener, All)], 0), Is.Zero, "an idle listener has nothing to report");
    }

    [Test]
    public void PollReportsDataThenThePeersFinAsRdhup()
    {
        var (client, server) = Connected(9301);
        Assert.That(Revents(b, server), Is.EqualTo(POLLOUT), "connected, nothing to read");
        a.Send(client, "x"u8, 0);
        Assert.That(Revents(b, server, POLLIN, 5000), Is.EqualTo(POLLIN));
        a.Shutdown(client, SHUT_WR);
        var pfd = new[] { new PollFd(server, POLLRDHUP) };
        Assert.That(b.Poll(pfd, 5000), Is.EqualTo(1));
        Assert.That(Revents(b, server), Is.EqualTo(POLLIN | POLLOUT | POLLRDHUP), "data and the FIN: readable, half closed");
        Assert.That(Revents(b, server, POLLIN), Is.EqualTo(POLLIN), "POLLRDHUP only when asked");
        b.Shutdown(server, SHUT_WR);
        Assert.That(Revents(b, server) & POLLHUP, Is.EqualTo(POLLHUP), "both directions shut");
    }

    [Test]
    public void PollReportsErrAndHupAfterAReset()
    {
        var (client, server) = Connected(9302);
        var linger = new byte[8];
        BitConverter.GetBytes(1).CopyTo(linger, 0);
        a.SetSockOpt(client, SOL_SOCKET, SO_LINGER, linger);
        a.Close(client); // l_linger 0: RST
        var pfd = new[] { new PollFd(server, POLLIN) };
        Assert.That(b.Poll(pfd, 5000), Is.EqualTo(1));
        SpinWait.SpinUntil(() => (Revents(b, server) & POLLERR) != 0, 5000);
        Assert.That(Revents(b, server), Is.EqualTo(POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP));
        Assert.That(b.Recv(server, new byte[4], 0), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.ECONNRESET));
        Assert.That(b.Recv(server, new byte[4], 0), Is.Zero, "after the error, the end of the stream");
        Assert.That(b.Send(server, [1], 0), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EPIPE));
    }

    [Test]
    public void PollOnADatagramSocketIsWritableAndReadableWithADatagram()
    {
        int server = b.Socket(AF_INET, SOCK_DGRAM, 0);
        b.Bind(server, new Endpoint(Ipv4Address.Any, 9303));
        Assert.That(Revents(b, server), Is.EqualTo(POLLOUT));
        int client = a.Socket(AF_INET, SOCK_DGRAM, 0);
        a.SendTo(client, [1, 2], 0, new Endpoint(HostedPair.AddressB, 9303));
        var pfd = new[] { new PollFd(server, POLLIN) };
        Assert.That(b.Poll(pfd, 5000), Is.EqualTo(1));
        Assert.That(pfd[0].Revents, Is.EqualTo(POLLIN));
    }

    // ---- timeouts on a virtual clock ------------------------------------------------------------

    private static StackHost VirtualHost(out IDisposable other)
    {
        var (link, peer) = MemoryLink.Create("virt");
        other = peer;
        var host = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:0a:01"), Address = new Ipv4Cidr(Ipv4Address.Parse("10.10.0.1"), 24), Secret = [9] },
            link, clock: new VirtualClock(new Instant(1_000_000)));
        host.Start();
        return host;
    }

    [Test]
    public void PollAndReceiveTimeoutsEndOnTheHostsVirtualClock()
    {
        using var host = VirtualHost(out var other);
        using var _ = other;
        var api = new BsdSockets(host);
        int fd = api.Socket(AF_INET, SOCK_DGRAM, 0);
        api.Bind(fd, new Endpoint(Ipv4Address.Any, 7));
        var polling = Task.Run(() => api.Poll([new PollFd(fd, POLLIN)], 3000));
        Assert.That(SpinWait.SpinUntil(() => host.BlockedCalls == 1, 10_000), Is.True, "poll waits for virtual time to pass");
        host.AdvanceTo(host.Now + TimeSpan.FromSeconds(3));
        Assert.That(polling.Wait(10_000), Is.True);
        Assert.That(polling.Result, Is.Zero, "timed out");

        var tv = new byte[16];
        tv[0] = 2; // tv_sec = 2
        api.SetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, tv);
        var receiving = Task.Run(() => (api.Recv(fd, new byte[4], 0), api.Errno));
        Assert.That(SpinWait.SpinUntil(() => host.BlockedCalls == 1, 10_000), Is.True);
        host.AdvanceTo(host.Now + TimeSpan.FromSeconds(2));
        Assert.That(receiving.Wait(10_000), Is.True);
        Assert.That(receiving.Result, Is.EqualTo((-1, Errno.EAGAIN)), "man 7 socket: SO_RCVTIMEO ends with EAGAIN");
        Assert.That(api.Poll([new PollFd(fd, POLLIN)], 0), Is.Zero, "timeout 0 returns at once");
    }
}
