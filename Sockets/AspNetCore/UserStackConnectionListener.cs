using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using UserStack.Sockets.Api;
using UserStack.Transport;

namespace UserStack.AspNetCore;

/// <summary>A listening UserStack socket that hands Kestrel each accepted connection as a <see cref="ConnectionContext"/>.</summary>
internal sealed class UserStackConnectionListener : IConnectionListener
{
    private const int Backlog = 512; // Kestrel's own default
    private readonly UserSocket listener;
    private readonly CancellationTokenSource unbound = new();
    private long nextId;

    private UserStackConnectionListener(UserSocket listener, UserStackEndPoint endpoint)
    {
        this.listener = listener;
        EndPoint = endpoint;
    }

    public System.Net.EndPoint EndPoint { get; }

    public static UserStackConnectionListener Bind(UserStackEndPoint endpoint)
    {
        var socket = UserSocket.Create(endpoint.Host, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.ReuseAddress = true;
            socket.Bind(endpoint.Endpoint);
            socket.Listen(Backlog);
            // Port 0 asks for an ephemeral port: report the one we got, as Kestrel expects.
            var bound = new UserStackEndPoint(endpoint.Host, socket.LocalEndpoint);
            return new UserStackConnectionListener(socket, bound);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Close();
            throw new AddressInUseException(e.Message, e);
        }
        catch
        {
            socket.Close();
            throw;
        }
    }

    /// <summary>The next connection, or null once the listener is unbound (Kestrel's end-of-accepts signal).</summary>
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, unbound.Token);
        UserSocket socket;
        try { socket = await listener.AcceptAsync(both.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (unbound.IsCancellationRequested) { return null; }
        // UserSocket accept fails only when the listener is closed (EBADF) or no longer listening
        // (EINVAL): either way there will be no more connections.
        catch (SocketException) { return null; }
        var connection = new UserStackConnection(socket, $"{Host}-{Interlocked.Increment(ref nextId)}");
        connection.Start();
        return connection;
    }

    private string Host => ((UserStackEndPoint)EndPoint).Endpoint.ToString();

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        unbound.Cancel();
        listener.Close();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        unbound.Cancel();
        listener.Close();
        return ValueTask.CompletedTask;
    }
}
