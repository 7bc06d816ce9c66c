using System.Net.Sockets;
using UserStack.Sockets.Host;
using UserStack.Tcp;
using UserStack.Time;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

/// <summary>The command values of <see cref="BsdSockets.Fcntl"/> (fcntl(2)).</summary>
public enum FcntlCommand { GetFlags = 3, SetFlags = 4 }

/// <summary>The requests of <see cref="BsdSockets.Ioctl"/> (ioctl(2)).</summary>
public enum IoctlRequest { FIONREAD = 0x541B, FIONBIO = 0x5421 }

/// <summary>struct msghdr: the peer address, the scatter/gather buffers, and the flags recvmsg reports.</summary>
public sealed class MessageHeader
{
    public Endpoint? Name { get; set; }
    public IList<ArraySegment<byte>> Buffers { get; set; } = [];
    /// <summary>Out: <see cref="SocketFlags.Truncated"/> when the datagram was longer than the buffers (.NET's numbering).</summary>
    public SocketFlags Flags { get; set; }
    /// <summary>Out: msg_flags in Linux's numbers (<see cref="Linux.MSG_TRUNC"/> when the datagram was longer than the buffers).</summary>
    public int MessageFlags { get; set; }
}

/// <summary>struct pollfd (poll(2)): a descriptor, the events asked for, the events that hold.</summary>
public struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;

    public PollFd(int fd, short events) { Fd = fd; Events = events; Revents = 0; }
}

/// <summary>
/// The descriptor face of the sockets, as in C: calls take and return small integers, and a call
/// that fails returns -1 and leaves its reason in <see cref="Errno"/> (per thread, like errno).
/// The overloads taking <c>int</c> levels, names, flags and commands use Linux x86-64's numbers
/// (<see cref="Linux"/>) with Linux's semantics, for script runners and a packetdrill adapter; the
/// typed overloads (.NET enums) remain for C# callers. docs/sockets.md lists every call, option
/// and flag with where it differs from Linux. The same sockets are <see cref="UserSocket"/>
/// objects underneath.
/// </summary>
public sealed partial class BsdSockets(StackHost host)
{
    public const int O_NONBLOCK = Linux.O_NONBLOCK;
    public const int MSG_DONTWAIT = Linux.MSG_DONTWAIT;

    /// <summary>One open descriptor: its socket and its FD_CLOEXEC flag (which belongs to the descriptor, not the socket).</summary>
    private sealed class Descriptor(UserSocket socket, bool closeOnExec)
    {
        public UserSocket Socket { get; } = socket;
        public bool CloseOnExec { get; set; } = closeOnExec;
    }

    [ThreadStatic] private static Errno lastError;
    private readonly Dictionary<int, Descriptor> descriptors = new();
    private readonly object table = new();
    private const int FirstDescriptor = 3; // 0, 1 and 2 are stdin, stdout and stderr, as in a C program
    private const int MaximumDescriptors = 65536;

    /// <summary>The reason the last failed call on this thread failed.</summary>
    public Errno Errno => lastError;

    private static int Fail(Errno e) { lastError = e; return -1; }
    private static int Result(Errno e, int value = 0) => e == Errno.Ok ? value : Fail(e);
    private static T? FailWith<T>(Errno e) where T : class { lastError = e; return null; }

    private bool TryGet(int fd, out UserSocket socket)
    {
        lock (table)
        {
            if (descriptors.TryGetValue(fd, out var d)) { socket = d.Socket; return true; }
        }
        socket = null!;
        lastError = Errno.EBADF;
        return false;
    }

    /// <summary>The object behind a descriptor (for mixing both faces).</summary>
    public UserSocket? this[int fd] { get { lock (table) return descriptors.GetValueOrDefault(fd)?.Socket; } }

    /// <summary>The lowest free descriptor from 3, as Linux allocates them (socket() = 3, accept() = 4, reuse after close).</summary>
    private int Install(UserSocket socket, bool closeOnExec)
    {
        lock (table)
        {
            if (descriptors.Count >= MaximumDescriptors) { socket.Close(); return Fail(Errno.EMFILE); }
            int fd = FirstDescriptor;
            while (descriptors.ContainsKey(fd)) fd++;
            descriptors[fd] = new Descriptor(socket, closeOnExec);
            return fd;
        }
    }

    public int Socket(AddressFamily family, SocketType type, ProtocolType protocol) => Socket((int)family, (int)type, (int)protocol);

    /// <summary>
    /// socket(2) with Linux's numbers: AF_INET; SOCK_STREAM, SOCK_DGRAM or SOCK_RAW, optionally with
    /// SOCK_NONBLOCK and SOCK_CLOEXEC; a protocol of 0 or the type's own. Other type bits: EINVAL.
    /// </summary>
    public int Socket(int domain, int type, int protocol)
    {
        const int TypeMask = 0xf; // SOCK_TYPE_MASK
        if ((type & ~(TypeMask | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC)) != 0) return Fail(Errno.EINVAL);
        var e = UserSocket.TryCreate(host, (AddressFamily)domain, (SocketType)(type & TypeMask), (ProtocolType)protocol, out var socket);
        if (e != Errno.Ok) return Fail(e);
        socket!.Blocking = (type & Linux.SOCK_NONBLOCK) == 0;
        return Install(socket, (type & Linux.SOCK_CLOEXEC) != 0);
    }

    public int Bind(int fd, Endpoint local) => TryGet(fd, out var s) ? Result(s.TryBind(local)) : -1;

    /// <summary>
    /// connect(): a blocking stream socket returns 0 once established, or the error (ECONNREFUSED,
    /// ETIMEDOUT); a non-blocking one -1 with EINPROGRESS, then EALREADY while in progress, 0 the
    /// first time after it completed, EISCONN afterwards (Linux's __inet_stream_connect).
    /// </summary>
    public int Connect(int fd, Endpoint remote) => TryGet(fd, out var s) ? Result(s.TryConnect(remote)) : -1;

    public int Listen(int fd, int backlog) => TryGet(fd, out var s) ? Result(s.TryListen(backlog)) : -1;

    /// <summary>accept(): a new descriptor for the next connection, and the peer's address.</summary>
    public int Accept(int fd, out Endpoint peer) => Accept4(fd, out peer, 0);

    /// <summary>
    /// accept4(2): as accept, with SOCK_NONBLOCK and SOCK_CLOEXEC for the new descriptor (other bits
    /// EINVAL). As in Linux the new socket does not take O_NONBLOCK from the listener.
    /// </summary>
    public int Accept4(int fd, out Endpoint peer, int flags)
    {
        peer = default;
        if ((flags & ~(Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC)) != 0) return Fail(Errno.EINVAL);
        if (!TryGet(fd, out var s)) return -1;
        var e = s.TryAccept(out var child);
        if (e != Errno.Ok) return Fail(e);
        child!.TryGetPeerName(out peer);
        child.Blocking = (flags & Linux.SOCK_NONBLOCK) == 0;
        return Install(child, (flags & Linux.SOCK_CLOEXEC) != 0);
    }

    public int Shutdown(int fd, SocketShutdown how) => TryGet(fd, out var s) ? Result(s.TryShutdown(how)) : -1;

    /// <summary>shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR (others EINVAL); ENOTCONN on an unconnected socket.</summary>
    public int Shutdown(int fd, int how)
    {
        if (!TryGet(fd, out var s)) return -1;
        return how switch
        {
            Linux.SHUT_RD => Result(s.TryShutdown(SocketShutdown.Receive)),
            Linux.SHUT_WR => Result(s.TryShutdown(SocketShutdown.Send)),
            Linux.SHUT_RDWR => Result(s.TryShutdown(SocketShutdown.Both)),
            _ => Fail(Errno.EINVAL),
        };
    }

    // ---- sending and receiving -------------------------------------------------------------

    public int SendTo(int fd, ReadOnlySpan<byte> data, SocketFlags flags, Endpoint? to) => SendTo(fd, data, UserSocket.ToLinuxFlags(flags), to);

    /// <summary>
    /// sendto(2) with Linux's MSG_* flags: MSG_DONTWAIT never waits; MSG_NOSIGNAL, MSG_MORE,
    /// MSG_EOR, MSG_DONTROUTE are accepted and change nothing here; MSG_OOB sends urgent data on TCP (EOPNOTSUPP elsewhere).
    /// A stream socket ignores <paramref name="to"/>, as Linux does.
    /// </summary>
    public int SendTo(int fd, ReadOnlySpan<byte> data, int flags, Endpoint? to)
    {
        if (!TryGet(fd, out var s)) return -1;
        var e = s.TrySend(data, to, flags, out int sent);
        return Result(e, sent);
    }

    public int Send(int fd, ReadOnlySpan<byte> data, SocketFlags flags = SocketFlags.None) => SendTo(fd, data, flags, null);

    /// <summary>send(2) with Linux's MSG_* flags.</summary>
    public int Send(int fd, ReadOnlySpan<byte> data, int flags) => SendTo(fd, data, flags, null);

    public int RecvFrom(int fd, Span<byte> buffer, SocketFlags flags, out Endpoint from) => RecvFrom(fd, buffer, UserSocket.ToLinuxFlags(flags), out from);

    /// <summary>
    /// recvfrom(2) with Linux's MSG_* flags: MSG_PEEK (does not consume), MSG_DONTWAIT, MSG_WAITALL
    /// (streams), MSG_TRUNC (datagrams: the datagram's real length; streams: the bytes are discarded),
    /// MSG_OOB (TCP: the out-of-band byte; EINVAL without one).
    /// </summary>
    public int RecvFrom(int fd, Span<byte> buffer, int flags, out Endpoint from)
    {
        from = default;
        if (!TryGet(fd, out var s)) return -1;
        var e = s.TryReceive(buffer, flags, out int copied, out int full, out from);
        return Result(e, (flags & Linux.MSG_TRUNC) != 0 ? full : copied);
    }

    public int Recv(int fd, Span<byte> buffer, SocketFlags flags = SocketFlags.None) => RecvFrom(fd, buffer, flags, out _);

    /// <summary>recv(2) with Linux's MSG_* flags.</summary>
    public int Recv(int fd, Span<byte> buffer, int flags) => RecvFrom(fd, buffer, flags, out _);

    /// <summary>write(2) on a socket: send() without flags.</summary>
    public int Write(int fd, ReadOnlySpan<byte> data) => Send(fd, data, 0);

    /// <summary>read(2) on a socket: recv() without flags; 0 at end of stream.</summary>
    public int Read(int fd, Span<byte> buffer) => Recv(fd, buffer, 0);

    public int SendMsg(int fd, MessageHeader message, SocketFlags flags = SocketFlags.None) => SendMsg(fd, message, UserSocket.ToLinuxFlags(flags));

    /// <summary>sendmsg(2): gathers the buffers into one send (one datagram).</summary>
    public int SendMsg(int fd, MessageHeader message, int flags)
    {
        int total = message.Buffers.Sum(b => b.Count);
        var gathered = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
        try
        {
            int at = 0;
            foreach (var b in message.Buffers) { b.AsSpan().CopyTo(gathered.AsSpan(at)); at += b.Count; }
            return SendTo(fd, gathered.AsSpan(0, total), flags, message.Name);
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(gathered); }
    }

    public int RecvMsg(int fd, MessageHeader message, SocketFlags flags = SocketFlags.None) => RecvMsg(fd, message, UserSocket.ToLinuxFlags(flags));

    /// <summary>
    /// recvmsg(2): scatters what one receive takes over the buffers, reports the source and, in
    /// msg_flags, MSG_TRUNC when a datagram was longer than the buffers.
    /// </summary>
    public int RecvMsg(int fd, MessageHeader message, int flags)
    {
        int capacity = message.Buffers.Sum(b => b.Count);
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 1));
        try
        {
            if (!TryGet(fd, out var s)) return -1;
            var e = s.TryReceive(scratch.AsSpan(0, capacity), flags, out int copied, out int full, out var from);
            if (e != Errno.Ok) return Fail(e);
            int at = 0;
            foreach (var b in message.Buffers)
            {
                int n = Math.Min(b.Count, copied - at);
                if (n <= 0) break;
                scratch.AsSpan(at, n).CopyTo(b.AsSpan());
                at += n;
            }
            message.Name = from;
            bool truncated = full > copied;
            message.Flags = truncated ? SocketFlags.Truncated : SocketFlags.None;
            message.MessageFlags = truncated ? Linux.MSG_TRUNC : 0;
            return (flags & Linux.MSG_TRUNC) != 0 ? full : copied;
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(scratch); }
    }

    /// <summary>readv(2) on a socket: recvmsg() without flags or address.</summary>
    public int Readv(int fd, IReadOnlyList<ArraySegment<byte>> iov) => RecvMsg(fd, new MessageHeader { Buffers = iov.ToList() }, 0);

    /// <summary>writev(2) on a socket: sendmsg() without flags or address.</summary>
    public int Writev(int fd, IReadOnlyList<ArraySegment<byte>> iov) => SendMsg(fd, new MessageHeader { Buffers = iov.ToList() }, 0);

    public int GetSockName(int fd, out Endpoint local)
    {
        local = default;
        return TryGet(fd, out var s) ? Result(s.TryGetSockName(out local)) : -1;
    }

    public int GetPeerName(int fd, out Endpoint remote)
    {
        remote = default;
        return TryGet(fd, out var s) ? Result(s.TryGetPeerName(out remote)) : -1;
    }

    /// <summary>setsockopt() with an integer value; times (SO_RCVTIMEO, SO_SNDTIMEO) are in milliseconds, 0 = forever.</summary>
    public int SetSockOpt(int fd, SocketOptionLevel level, SocketOptionName name, int value)
    {
        if (!TryGet(fd, out var s)) return -1;
        switch (level, name)
        {
            case (SocketOptionLevel.Socket, SocketOptionName.ReuseAddress): s.ReuseAddress = value != 0; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.Broadcast): s.Broadcast = value != 0; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer) when value > 0: s.ReceiveBufferSize = value; s.Extras.ReportedReceiveBuffer = null; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.SendBuffer) when value > 0: s.SendBufferSize = value; s.Extras.ReportedSendBuffer = null; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout) when value >= 0: s.ReceiveTimeout = value == 0 ? null : TimeSpan.FromMilliseconds(value); return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.SendTimeout) when value >= 0: s.SendTimeout = value == 0 ? null : TimeSpan.FromMilliseconds(value); return 0;
            case (SocketOptionLevel.IP, SocketOptionName.IpTimeToLive) when value is >= 1 and <= 255: s.TimeToLive = (byte)value; return 0;
            case (SocketOptionLevel.Tcp, _) when s.Type != SocketType.Stream: return Fail(Errno.ENOPROTOOPT); // as Linux: IPPROTO_TCP on UDP/raw
            case (SocketOptionLevel.Socket, SocketOptionName.KeepAlive): s.KeepAlive = value != 0; return 0;
            case (SocketOptionLevel.Tcp, SocketOptionName.NoDelay): s.NoDelay = value != 0; return 0;
            case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime): return Result(s.SetKeepAliveTimes(idleSeconds: value));
            case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval): return Result(s.SetKeepAliveTimes(intervalSeconds: value));
            case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount): return Result(s.SetKeepAliveTimes(count: value));
            // SO_LINGER as seconds: -1 off, 0 = close() resets the connection.
            case (SocketOptionLevel.Socket, SocketOptionName.Linger): s.Linger = value < 0 ? null : TimeSpan.FromSeconds(value); return 0;
            case (SocketOptionLevel.Socket or SocketOptionLevel.IP, SocketOptionName.ReceiveBuffer or SocketOptionName.SendBuffer or SocketOptionName.ReceiveTimeout or SocketOptionName.SendTimeout or SocketOptionName.IpTimeToLive):
                return Fail(Errno.EINVAL);
            default: return Fail(Errno.ENOPROTOOPT);
        }
    }

    /// <summary>setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name): "cubic" or "newreno"; ENOENT otherwise.</summary>
    public int SetCongestionControl(int fd, string name) => TryGet(fd, out var s) ? Result(s.SetCongestionControl(name)) : -1;

    /// <summary>getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION).</summary>
    public string? GetCongestionControl(int fd) => TryGet(fd, out var s) ? s.CongestionControl ?? FailWith<string>(Errno.ENOPROTOOPT) : null;

    /// <summary>getsockopt(fd, IPPROTO_TCP, TCP_INFO): null with ENOPROTOOPT on a socket that is not TCP.</summary>
    public TcpInfo? GetTcpInfo(int fd) => TryGet(fd, out var s) ? s.TcpInfo ?? FailWith<TcpInfo>(Errno.ENOPROTOOPT) : null;

    public int GetSockOpt(int fd, SocketOptionLevel level, SocketOptionName name, out int value)
    {
        value = 0;
        if (!TryGet(fd, out var s)) return -1;
        switch (level, name)
        {
            case (SocketOptionLevel.Socket, SocketOptionName.ReuseAddress): value = s.ReuseAddress ? 1 : 0; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.Broadcast): value = s.Broadcast ? 1 : 0; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer): value = s.ReceiveBufferSize; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.SendBuffer): value = s.SendBufferSize; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout): value = (int)(s.ReceiveTimeout?.TotalMilliseconds ?? 0); return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.SendTimeout): value = (int)(s.SendTimeout?.TotalMilliseconds ?? 0); return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.Type): value = (int)s.Type; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.Error): value = (int)s.TakePendingError(); return 0;
            case (SocketOptionLevel.IP, SocketOptionName.IpTimeToLive): value = s.TimeToLive; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.Linger): value = s.Linger is { } l ? (int)l.TotalSeconds : -1; return 0;
            case (SocketOptionLevel.Tcp, _) when s.Type != SocketType.Stream: value = 0; return Fail(Errno.ENOPROTOOPT);
            case (SocketOptionLevel.Socket, SocketOptionName.KeepAlive): value = s.KeepAlive ? 1 : 0; return 0;
            case (SocketOptionLevel.Tcp, SocketOptionName.NoDelay): value = s.NoDelay ? 1 : 0; return 0;
            case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime): value = s.KeepAliveTimes.IdleSeconds; return 0;
            case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval): value = s.KeepAliveTimes.IntervalSeconds; return 0;
            case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount): value = s.KeepAliveTimes.Count; return 0;
            default: return Fail(Errno.ENOPROTOOPT);
        }
    }

    public int Fcntl(int fd, FcntlCommand command, int flags = 0) => Fcntl(fd, (int)command, flags);

    /// <summary>
    /// fcntl(2): F_GETFL is O_RDWR plus O_NONBLOCK when set (Linux: 0x2 or 0x802 for a socket);
    /// F_SETFL takes O_NONBLOCK and ignores the access mode and other bits; F_GETFD/F_SETFD keep
    /// FD_CLOEXEC (there is no exec here: it is only remembered). Other commands: EINVAL.
    /// </summary>
    public int Fcntl(int fd, int cmd, long arg)
    {
        Descriptor? d;
        lock (table) descriptors.TryGetValue(fd, out d);
        if (d is null) return Fail(Errno.EBADF);
        switch (cmd)
        {
            case Linux.F_GETFD: return d.CloseOnExec ? Linux.FD_CLOEXEC : 0;
            case Linux.F_SETFD: d.CloseOnExec = (arg & Linux.FD_CLOEXEC) != 0; return 0;
            case Linux.F_GETFL: return Linux.O_RDWR | (d.Socket.Blocking ? 0 : Linux.O_NONBLOCK);
            case Linux.F_SETFL: d.Socket.Blocking = (arg & Linux.O_NONBLOCK) == 0; return 0;
            default: return Fail(Errno.EINVAL);
        }
    }

    public int Ioctl(int fd, IoctlRequest request, ref int value) => Ioctl(fd, (ulong)request, ref value);

    /// <summary>
    /// ioctl(2) on a socket: FIONREAD/SIOCINQ (bytes readable on a stream, EINVAL on a listener;
    /// the next datagram's size otherwise), SIOCOUTQ (stream: bytes not yet acknowledged, sent or
    /// not; EINVAL on a listener; datagrams: 0, they leave at once), FIONBIO (non-zero sets
    /// O_NONBLOCK), SIOCATMARK (TCP: 1 when the next byte to read is the urgent mark). Others: ENOTTY, as Linux.
    /// </summary>
    public int Ioctl(int fd, ulong request, ref int value)
    {
        if (!TryGet(fd, out var s)) return -1;
        bool stream = s.Type == SocketType.Stream;
        switch (request)
        {
            case Linux.FIONREAD:
                if (s.IsListening) return Fail(Errno.EINVAL);
                value = s.UnreadForIoctl;
                return 0;
            case Linux.SIOCOUTQ:
                if (s.IsListening) return Fail(Errno.EINVAL);
                value = s.OutputQueued;
                return 0;
            case Linux.FIONBIO:
                s.Blocking = value == 0;
                return 0;
            case Linux.SIOCATMARK when stream:
                value = s.AtUrgentMark ? 1 : 0;
                return 0;
            default:
                return Fail(Errno.ENOTTY);
        }
    }

    /// <summary>close(2): the descriptor is free again (the lowest free one is the next socket's).</summary>
    public int Close(int fd)
    {
        Descriptor? d;
        lock (table)
        {
            if (!descriptors.Remove(fd, out d)) return Fail(Errno.EBADF);
        }
        d.Socket.Close();
        return 0;
    }
}
