using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Raw;

/// <summary>Raw IPv4 sockets: copies of datagrams in, caller-built payloads out.</summary>
public sealed class RawLayer
{
    private readonly NetStack stack;
    private readonly List<RawSocket> sockets = new();

    internal RawLayer(NetStack stack) => this.stack = stack;

    public IReadOnlyList<RawSocket> Sockets => sockets;

    public RawSocket Open(IpProtocol protocol)
    {
        var socket = new RawSocket(protocol);
        sockets.Add(socket);
        return socket;
    }

    public Errno Bind(RawSocket socket, Ipv4Address address)
    {
        if (socket.IsClosed) return Errno.EBADF;
        if (!address.IsUnspecified && address != stack.Ipv4.Address) return Errno.EADDRNOTAVAIL;
        socket.LocalAddress = address;
        return Errno.Ok;
    }

    public Errno Connect(RawSocket socket, Ipv4Address? remote)
    {
        if (socket.IsClosed) return Errno.EBADF;
        socket.RemoteAddress = remote is { IsUnspecified: true } ? null : remote;
        return Errno.Ok;
    }

    /// <summary>
    /// Sends <paramref name="payload"/> as the body of one IPv4 datagram of the socket's protocol, up to
    /// 65,515 bytes, fragmented above the MTU with DF only on what fits (Linux raw_sendmsg through
    /// ip_append_data, IP_PMTUDISC_WANT).
    /// </summary>
    public Errno Send(RawSocket socket, ReadOnlySpan<byte> payload, Ipv4Address? to, Instant now)
    {
        if (socket.IsClosed) return Errno.EBADF;
        var destination = to ?? socket.RemoteAddress;
        if (destination is not { } d) return Errno.EDESTADDRREQ;
        if (d.IsUnspecified) return Errno.EINVAL;
        if (payload.Length > socket.SendBufferSize || Ipv4Packet.MinimumHeaderLength + payload.Length > Ip.Ipv4Layer.MaximumDatagram) return Errno.EMSGSIZE;
        if (stack.Ipv4.IsBroadcast(d) && !socket.Broadcast) return Errno.EACCES;
        payload.CopyTo(stack.Ipv4.PayloadBuffer);
        var source = socket.LocalAddress.IsUnspecified ? stack.Ipv4.Address : socket.LocalAddress;
        if (!stack.Ipv4.Send(source, d, socket.Protocol, payload.Length, now, socket.TypeOfService, socket.TimeToLive, Ip.PathMtuDiscovery.Want)) return Errno.ENETUNREACH;
        stack.Counters.Increment(Counter.RawSent);
        return Errno.Ok;
    }

    /// <summary>
    /// IP_HDRINCL: <paramref name="packet"/> starts with the caller's IPv4 header. Its type of
    /// service, TTL, protocol and (when not 0.0.0.0) source are sent; the length, identification,
    /// checksum and fragment fields are ours, IP options are dropped (Linux fills only the checksum,
    /// the length and a zero identification). The destination is the call's, as in Linux.
    /// </summary>
    public Errno SendHeaderIncluded(RawSocket socket, ReadOnlySpan<byte> packet, Ipv4Address? to, Instant now)
    {
        if (socket.IsClosed) return Errno.EBADF;
        var destination = to ?? socket.RemoteAddress;
        if (destination is not { } d) return Errno.EDESTADDRREQ;
        if (packet.Length < Ipv4Packet.MinimumHeaderLength || packet[0] >> 4 != 4) return Errno.EINVAL;
        int headerLength = (packet[0] & 0xf) * 4;
        if (headerLength < Ipv4Packet.MinimumHeaderLength || headerLength > packet.Length) return Errno.EINVAL;
        var payload = packet[headerLength..];
        if (packet.Length > socket.SendBufferSize || Ipv4Packet.MinimumHeaderLength + payload.Length > stack.Ipv4.Mtu) return Errno.EMSGSIZE;
        if (stack.Ipv4.IsBroadcast(d) && !socket.Broadcast) return Errno.EACCES;
        var source = Ipv4Address.Read(packet[12..]);
        if (source.IsUnspecified) source = socket.LocalAddress.IsUnspecified ? stack.Ipv4.Address : socket.LocalAddress;
        payload.CopyTo(stack.Ipv4.PayloadBuffer);
        if (!stack.Ipv4.Send(source, d, (IpProtocol)packet[9], payload.Length, now, packet[1], packet[8])) return Errno.ENETUNREACH;
        stack.Counters.Increment(Counter.RawSent);
        return Errno.Ok;
    }

    public void Close(RawSocket socket)
    {
        if (socket.IsClosed) return;
        socket.IsClosed = true;
        sockets.Remove(socket);
        socket.Discard();
    }

    /// <summary>Called by IPv4 for every datagram that is for us, before its protocol handler.</summary>
    internal void Deliver(in Ipv4Packet packet)
    {
        if (sockets.Count == 0) return;
        foreach (var socket in sockets)
        {
            if (!socket.Accepts(packet)) continue;
            if (socket.Enqueue(packet.Bytes, packet.Source)) stack.Counters.Increment(Counter.RawDelivered);
        }
    }
}
