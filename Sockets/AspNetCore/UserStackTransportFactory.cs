using System.Net;
using Microsoft.AspNetCore.Connections;

namespace UserStack.AspNetCore;

/// <summary>
/// Kestrel's transport for <see cref="UserStackEndPoint"/>s. As a selector it claims only those,
/// so it sits beside the socket transport: an app can listen on kernel sockets and on UserStack at once.
/// </summary>
public sealed class UserStackTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is UserStackEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (endpoint is not UserStackEndPoint ep) throw new NotSupportedException($"{endpoint.GetType().Name} is not a UserStack endpoint");
        return ValueTask.FromResult<IConnectionListener>(UserStackConnectionListener.Bind(ep));
    }
}
