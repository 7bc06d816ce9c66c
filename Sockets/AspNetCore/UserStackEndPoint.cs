using System.Net;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.AspNetCore;

/// <summary>
/// An address:port on a UserStack host, as Kestrel's listen options carry it. Not an
/// <see cref="IPEndPoint"/> on purpose: Kestrel's socket transport claims every IPEndPoint, and
/// this one must go to <see cref="UserStackTransportFactory"/> only.
/// </summary>
public sealed class UserStackEndPoint(StackHost host, Endpoint endpoint) : EndPoint
{
    public StackHost Host { get; } = host;
    public Endpoint Endpoint { get; } = endpoint;
    public IPEndPoint IPEndPoint => ToIPEndPoint(Endpoint);

    public static IPEndPoint ToIPEndPoint(Endpoint e) => new(e.Address.ToIPAddress(), e.Port);

    // Kestrel prints it in "Now listening on: http://..." and the server addresses feature.
    public override string ToString() => $"{Endpoint.Address}:{Endpoint.Port}";
    public override bool Equals(object? obj) => obj is UserStackEndPoint o && ReferenceEquals(o.Host, Host) && o.Endpoint == Endpoint;
    public override int GetHashCode() => HashCode.Combine(Host, Endpoint);
}
