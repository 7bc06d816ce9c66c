using System.Buffers.Binary;
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
        if (!address.IsUnspecified && !stack.Ipv4.IsLocal(address)) return Errno.EADDRNOTAVAIL;
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
        var source = socket.LocalAddress.IsUnspecified ? stack.Ipv4.SourceFor(d) : socket.LocalAddress;
        if (!stack.Ipv4.Send(source, d, socket.Protocol, payload.Length, now, socket.TypeOfService, socket.TimeToLive, Ip.PathMtuDiscovery.Want)) return Errno.ENETUNREACH;
        stack.Counters.Increment(Counter.RawSent);
        return Errno.Ok;
    }

    /// <summary>
    /// IP_HDRINCL (man 7 raw; Linux raw_send_hdrinc): <paramref name="packet"/> is the whole datagram,
    /// sent as the caller built it, except that the total length and checksum are always filled in,
    /// and the source and identification when 0 (an identification of 0 stays 0 under DF, as
    /// ip_select_ident). The datagram goes toward the call's destination; the header's is not
    /// rewritten. The version is not looked at, as Linux (the receiver drops a wrong one); a header
    /// length under 20 bytes or beyond the buffer is EINVAL.
    /// </summary>
    public Errno SendHeaderIncluded(RawSocket socket, ReadOnlySpan<byte> packet, Ipv4Address? to, Instant now)
    {
        if (socket.IsClosed) return Errno.EBADF;
        var destination = to ?? socket.RemoteAddress;
        if (destination is not { } d) return Errno.EDESTADDRREQ;
        if (stack.Ipv4.IsBroadcast(d) && !socket.Broadcast) return Errno.EACCES;
        if (packet.Length > stack.Ipv4.MtuFor(d)) return Errno.EMSGSIZE; // never fragmented
        if (packet.Length < Ipv4Packet.MinimumHeaderLength) return Errno.EINVAL;
        int headerLength = (packet[0] & 0xf) * 4;
        if (headerLength < Ipv4Packet.MinimumHeaderLength || headerLength > packet.Length) return Errno.EINVAL;
        var datagram = stack.Ipv4.DatagramBuffer[..packet.Length];
        packet.CopyTo(datagram);
        FillHeader(socket, datagram, headerLength, d);
        if (!stack.Ipv4.SendBuilt(packet.Length, d, now)) return Errno.ENETUNREACH;
        stack.Counters.Increment(Counter.RawSent);
        return Errno.Ok;
    }

    // man 7 raw, IP_HDRINCL: source and packet ID filled in when zero, checksum and total length always.
    private void FillHeader(RawSocket socket, Span<byte> datagram, int headerLength, Ipv4Address destination)
    {
        if (Ipv4Address.Read(datagram[12..]).IsUnspecified)
            (socket.LocalAddress.IsUnspecified ? stack.Ipv4.SourceFor(destination) : socket.LocalAddress).Write(datagram[12..]);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[2..], (ushort)datagram.Length);
        bool dontFragment = (datagram[6] & 0x40) != 0;
        if (BinaryPrimitives.ReadUInt16BigEndian(datagram[4..]) == 0 && !dontFragment)
            BinaryPrimitives.WriteUInt16BigEndian(datagram[4..], stack.Ipv4.TakeIdentification());
        BinaryPrimitives.WriteUInt16BigEndian(datagram[10..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[10..], InternetChecksum.Compute(datagram[..headerLength]));
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
