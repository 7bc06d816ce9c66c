using System.Net;
using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Sockets.Http;

/// <summary>
/// HttpClient over UserStack: a <see cref="SocketsHttpHandler"/> whose ConnectCallback dials
/// through the stack's TCP (a <see cref="UserSocket"/> connect, its Stream). HTTP/1.1 and
/// keep-alive pooling are the handler's own; only the bytes travel another way.
/// </summary>
public static class UserStackHttp
{
    /// <summary>A handler that connects through <paramref name="host"/>. There is no resolver on the stack: URLs name IPv4 addresses.</summary>
    public static SocketsHttpHandler CreateHandler(StackHost host) => new()
    {
        UseProxy = false, // a proxy from the environment would be dialled through the stack too: never wanted here
        ConnectCallback = (context, cancel) => ConnectAsync(host, context.DnsEndPoint, cancel),
    };

    public static HttpClient CreateClient(StackHost host, TimeSpan? timeout = null) =>
        new(CreateHandler(host)) { Timeout = timeout ?? TimeSpan.FromSeconds(100) };

    /// <summary>Connects a UserStack TCP socket to host:port and returns its Stream (disposing it closes the socket).</summary>
    public static async ValueTask<Stream> ConnectAsync(StackHost host, DnsEndPoint target, CancellationToken cancel)
    {
        if (!IPAddress.TryParse(target.Host, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork)
            throw new HttpRequestException($"UserStack has no name resolver: use an IPv4 address in the URL, not '{target.Host}'");
        var socket = UserSocket.Create(host, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new Endpoint(Ipv4Address.From(ip), (ushort)target.Port), cancel).ConfigureAwait(false);
            return socket.GetStream();
        }
        catch
        {
            socket.Close();
            throw;
        }
    }
}
