using UserStack.Diagnostics;
using UserStack.Icmp;
using UserStack.Ip;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Udp;

/// <summary>
/// UDP (RFC 768, RFC 1122 4.1): checks and delivers datagrams to the socket bound to their
/// destination, answers closed ports with ICMP port unreachable (RFC 1122 4.1.3.1), reports ICMP
/// errors to connected sockets, and sends datagrams for sockets.
/// </summary>
public sealed class UdpLayer : IIpProtocolHandler, IIcmpErrorHandler
{
    private readonly NetStack stack;

    internal UdpLayer(NetStack stack, EphemeralPortAllocator ephemeral)
    {
        this.stack = stack;
        Table = new PortTable<UdpSocket>(ephemeral);
    }

    public PortTable<UdpSocket> Table { get; }

    public UdpSocket Open() => new();

    /// <summary>bind(): a specific address must be ours; port 0 picks an ephemeral port.</summary>
    public Errno Bind(UdpSocket socket, Endpoint local)
    {
        if (socket.IsClosed) return Errno.EBADF;
        if (socket.IsBound) return Errno.EINVAL;
        if (!local.Address.IsUnspecified && !stack.Ipv4.IsLocal(local.Address)) return Errno.EADDRNOTAVAIL;
        var error = Table.Choose(local, socket.ReuseAddress, null, out var chosen);
        if (error != Errno.Ok) return error;
        socket.Local = chosen;
        socket.IsBound = true;
        Table.Add(socket);
        return Errno.Ok;
    }

    /// <summary>connect() on a datagram socket: fixes the peer (binding first if needed); Any:0 disconnects.</summary>
    public Errno Connect(UdpSocket socket, Endpoint remote)
    {
        if (socket.IsClosed) return Errno.EBADF;
        if (remote.Address.IsUnspecified && remote.Port == 0)
        {
            Rebind(socket, null);
            return Errno.Ok;
        }
        if (remote.Port == 0) return Errno.EINVAL;
        if (stack.Ipv4.IsBroadcast(remote.Address) && !socket.Broadcast) return Errno.EACCES;
        if (!socket.IsBound)
        {
            var error = Bind(socket, Endpoint.Any);
            if (error != Errno.Ok) return error;
        }
        Rebind(socket, remote);
        socket.PendingError = Errno.Ok;
        return Errno.Ok;
    }

    private void Rebind(UdpSocket socket, Endpoint? remote)
    {
        if (socket.IsBound) Table.Remove(socket);
        socket.Remote = remote;
        if (socket.IsBound) Table.Add(socket);
    }

    /// <summary>
    /// sendto(): one datagram to <paramref name="to"/> (or the connected peer). Binds an ephemeral
    /// port first if needed. Up to 65,507 bytes; above the MTU the datagram is fragmented unless the
    /// socket says <see cref="PathMtuDiscovery.Do"/> (EMSGSIZE then, as Linux's ip_append_data).
    /// </summary>
    public Errno Send(UdpSocket socket, ReadOnlySpan<byte> payload, Endpoint? to, Instant now)
    {
        if (socket.IsClosed) return Errno.EBADF;
        Endpoint destination;
        if (to is { } t) destination = t; // even when connected: Linux's udp_sendmsg sends where it is told
        else if (socket.Remote is { } r) destination = r;
        else return Errno.EDESTADDRREQ;

        if (destination.Port == 0 || destination.Address.IsUnspecified) return Errno.EINVAL;
        if (payload.Length > UdpSocket.MaximumPayload || payload.Length > socket.SendBufferSize) return Errno.EMSGSIZE;
        if (socket.PathMtuDiscovery == PathMtuDiscovery.Do && Ipv4Packet.MinimumHeaderLength + UdpDatagram.HeaderLength + payload.Length > stack.Ipv4.MtuFor(destination.Address)) return Errno.EMSGSIZE;
        if (stack.Ipv4.IsBroadcast(destination.Address) && !socket.Broadcast) return Errno.EACCES;
        if (!socket.IsBound)
        {
            var error = Bind(socket, Endpoint.Any);
            if (error != Errno.Ok) return error;
        }

        var source = socket.Local.Address.IsUnspecified ? stack.Ipv4.SourceFor(destination.Address) : socket.Local.Address;
        var buffer = stack.Ipv4.PayloadBuffer;
        payload.CopyTo(buffer[UdpDatagram.HeaderLength..]);
        new UdpRepr(socket.Local.Port, destination.Port, payload.Length).Write(buffer, source, destination.Address);
        if (!stack.Ipv4.Send(source, destination.Address, IpProtocol.Udp, UdpDatagram.HeaderLength + payload.Length, now, socket.TypeOfService, socket.TimeToLive, socket.PathMtuDiscovery))
            return Errno.ENETUNREACH;
        stack.Counters.Increment(Counter.UdpSent);
        return Errno.Ok;
    }

    public void Close(UdpSocket socket)
    {
        if (socket.IsClosed) return;
        socket.IsClosed = true;
        if (socket.IsBound) Table.Remove(socket);
        socket.Discard();
    }

    public void Receive(in Ipv4Packet ip, Instant now)
    {
        if (!UdpDatagram.TryRead(ip.Payload, ip.Source, ip.Destination, out var datagram, out var why, stack.ReceiveChecksumTrusted)) { stack.Drop(why, now); return; }
        stack.Counters.Increment(Counter.UdpReceived);
        var local = new Endpoint(ip.Destination, datagram.DestinationPort);
        var remote = new Endpoint(ip.Source, datagram.SourcePort);

        if (stack.Ipv4.IsBroadcast(ip.Destination))
        {
            bool any = false;
            var payload = datagram.Payload.ToArray(); // broadcast is rare: one copy for the closure
            Table.ForEachMatch(local, remote, s => { any = true; Deliver(s, payload, remote, now); });
            if (!any) stack.Drop(DropReason.UdpNoSocket, now); // never an ICMP error about a broadcast
            return;
        }

        var socket = Table.Lookup(local, remote);
        if (socket is null)
        {
            stack.Drop(DropReason.UdpNoSocket, now);
            // RFC 1122 4.1.3.1: SHOULD send port unreachable.
            stack.Icmp.SendError(IcmpType.DestinationUnreachable, IcmpLayer.PortUnreachable, ip, now);
            return;
        }
        Deliver(socket, datagram.Payload, remote, now);
    }

    private void Deliver(UdpSocket socket, ReadOnlySpan<byte> payload, Endpoint from, Instant now)
    {
        if (socket.Enqueue(payload, from)) stack.Counters.Increment(Counter.UdpDelivered);
        else stack.Drop(DropReason.UdpReceiveBufferFull, now);
    }

    /// <summary>RFC 1122 4.1.3.3: ICMP errors go to the socket that sent the quoted datagram; BSD reports them on connected sockets only.</summary>
    public void ReceiveError(IcmpType type, byte code, int nextHopMtu, in QuotedDatagram quoted, Instant now)
    {
        if (quoted.Transport.Length < 4) return;
        var local = new Endpoint(quoted.Source, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(quoted.Transport));
        var remote = new Endpoint(quoted.Destination, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(quoted.Transport[2..]));
        var socket = Table.Lookup(local, remote);
        if (socket?.Remote is null) return;
        var error = IcmpLayer.ToErrno(type, code);
        if (error == Errno.Ok) return;
        stack.Counters.Increment(Counter.IcmpErrorsToSockets);
        socket.SetError(error);
    }
}
