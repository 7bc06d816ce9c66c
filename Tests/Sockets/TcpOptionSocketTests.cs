using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Sockets;

/// <summary>The IPPROTO_TCP options and SO_KEEPALIVE through the descriptor API, between two hosted stacks.</summary>
public class TcpOptionSocketTests
{
    [Test]
    public void Tcp_options_are_set_read_back_and_handed_from_listener_to_accepted_socket()
    {
        using var pair = new HostedPair();
        var a = new BsdSockets(pair.A);
        var b = new BsdSockets(pair.B);
        int listener = b.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.That(b.SetSockOpt(listener, SocketOptionLevel.Tcp, SocketOptionName.NoDelay, 1), Is.Zero);
        Assert.That(b.SetSockOpt(listener, SocketOptionLevel.Socket, SocketOptionName.KeepAlive, 1), Is.Zero);
        Assert.That(b.SetSockOpt(listener, SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30), Is.Zero);
        Assert.That(b.SetSockOpt(listener, SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 5), Is.Zero);
        Assert.That(b.SetSockOpt(listener, SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 4), Is.Zero);
        Assert.That(b.SetSockOpt(listener, SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 0), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.EINVAL), "TCP_KEEPCNT 0, as Linux");
        Assert.That(b.SetCongestionControl(listener, "reno-ish"), Is.EqualTo(-1));
        Assert.That(b.Errno, Is.EqualTo(Errno.ENOENT), "an unknown algorithm, as Linux");
        Assert.That(b.SetCongestionControl(listener, "newreno"), Is.Zero);
        Assert.That(b.Bind(listener, new Endpoint(Ipv4Address.Any, 8081)), Is.Zero);
        Assert.That(b.Listen(listener, 4), Is.Zero);
        b.SetSockOpt(listener, SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout, 5000);

        int client = a.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.That(a.Connect(client, new Endpoint(HostedPair.AddressB, 8081)), Is.Zero);
        int server = b.Accept(listener, out _);

        Assert.That(b.GetSockOpt(server, SocketOptionLevel.Tcp, SocketOptionName.NoDelay, out var nodelay), Is.Zero);
        Assert.That(nodelay, Is.EqualTo(1));
        b.GetSockOpt(server, SocketOptionLevel.Socket, SocketOptionName.KeepAlive, out var keepalive);
        b.GetSockOpt(server, SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, out var idle);
        b.GetSockOpt(server, SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, out var interval);
        b.GetSockOpt(server, SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, out var count);
        Assert.That((keepalive, idle, interval, count), Is.EqualTo((1, 30, 5, 4)));
        Assert.That(b.GetCongestionControl(server), Is.EqualTo("newreno"));
        Assert.That(a.GetCongestionControl(client), Is.EqualTo("cubic"), "the default, as Linux");

        var data = new byte[100_000];
        Random.Shared.NextBytes(data);
        int sent = 0;
        while (sent < data.Length) sent += a.Send(client, data.AsSpan(sent));
        var buffer = new byte[data.Length];
        int got = 0;
        while (got < data.Length) got += b.Recv(server, buffer.AsSpan(got));
        Assert.That(buffer, Is.EqualTo(data));

        var info = a.GetTcpInfo(client)!;
        Assert.That(info.State, Is.EqualTo(TcpState.Established));
        Assert.That(info.Timestamps && info.Sack, Is.True, "both stacks offer timestamps and SACK");
        Assert.That(info.SendWindowScale, Is.EqualTo(3), "the peer's shift for its 256 KiB buffer");
        Assert.That(info.SendMss, Is.EqualTo(1460 - 12), "MSS less the timestamp option");
        Assert.That(info.CongestionWindow, Is.GreaterThanOrEqualTo(10 * info.SendMss), "cwnd grew from the initial window");
        Assert.That(info.Rto, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200)));

        int udp = a.Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.That(a.GetTcpInfo(udp), Is.Null);
        Assert.That(a.Errno, Is.EqualTo(Errno.ENOPROTOOPT));
    }
}
