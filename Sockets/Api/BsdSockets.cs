using System.Net.Sockets;
using UserStack.Sockets.Host;
using UserStack.Tcp;
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
    /// <summary>Out: MSG_TRUNC when the datagram was longer than the buffers.</summary>
    public SocketFlags Flags { get; set; }
}

/// <summary>
/// The descriptor face of the sockets, as in C: calls take and return small integers, and a call
/// that fails returns -1 and leaves its reason in <see cref="Errno"/> (per thread, like errno).
/// For teaching and scripts; the same sockets are <see cref="UserSocket"/> objects underneath.
/// </summary>
public sealed class BsdSockets(StackHost host)
{
    public const int O_NONBLOCK = 0x800;
    public const int MSG_DONTWAIT = 0x40;

    [ThreadStatic] private static Errno lastError;
    private readonly Dictionary<int, UserSocket> descriptors = new();
    private readonly object table = new();
    private int nextDescriptor = 3; // 0, 1 and 2 are stdin, stdout and stderr, as in a C program

    /// <summary>The reason the last failed call on this thread failed.</summary>
    public Errno Errno => lastError;

    private static int Fail(Errno e) { lastError = e; return -1; }
    private static int Result(Errno e, int value = 0) => e == Errno.Ok ? value : Fail(e);
    private static T? FailWith<T>(Errno e) where T : class { lastError = e; return null; }

    private bool TryGet(int fd, out UserSocket socket)
    {
        lock (table)
        {
            if (descriptors.TryGetValue(fd, out socket!)) return true;
        }
        lastError = Errno.EBADF;
        return false;
    }

    /// <summary>The object behind a descriptor (for mixing both faces).</summary>
    public UserSocket? this[int fd] { get { lock (table) return descriptors.GetValueOrDefault(fd); } }

    public int Socket(AddressFamily family, SocketType type, ProtocolType protocol)
    {
        var e = UserSocket.TryCreate(host, family, type, protocol, out var socket);
        if (e != Errno.Ok) return Fail(e);
        lock (table)
        {
            if (descriptors.Count >= 65536) { socket!.Close(); return Fail(Errno.EMFILE); }
            while (descriptors.ContainsKey(nextDescriptor)) nextDescriptor = nextDescriptor == int.MaxValue ? 3 : nextDescriptor + 1;
            int fd = nextDescriptor++;
            descriptors[fd] = socket!;
            return fd;
        }
    }

    public int Bind(int fd, Endpoint local) => TryGet(fd, out var s) ? Result(s.TryBind(local)) : -1;
    /// <summary>connect(): for a non-blocking stream socket -1 with EINPROGRESS; then poll writability and read SO_ERROR, as in C.</summary>
    public int Connect(int fd, Endpoint remote) => TryGet(fd, out var s) ? Result(s.TryConnect(remote)) : -1;

    public int Listen(int fd, int backlog) => TryGet(fd, out var s) ? Result(s.TryListen(backlog)) : -1;

    /// <summary>accept(): a new descriptor for the next connection, and the peer's address.</summary>
    public int Accept(int fd, out Endpoint peer)
    {
        peer = default;
        if (!TryGet(fd, out var s)) return -1;
        var e = s.TryAccept(out var child);
        if (e != Errno.Ok) return Fail(e);
        child!.TryGetPeerName(out peer);
        lock (table)
        {
            while (descriptors.ContainsKey(nextDescriptor)) nextDescriptor = nextDescriptor == int.MaxValue ? 3 : nextDescriptor + 1;
            int newFd = nextDescriptor++;
            descriptors[newFd] = child;
            return newFd;
        }
    }

    public int Shutdown(int fd, SocketShutdown how) => TryGet(fd, out var s) ? Result(s.TryShutdown(how)) : -1;

    public int SendTo(int fd, ReadOnlySpan<byte> data, SocketFlags flags, Endpoint? to)
    {
        if (!TryGet(fd, out var s)) return -1;
        var e = s.TrySendTo(data, to, out int sent);
        return Result(e, sent);
    }

    public int Send(int fd, ReadOnlySpan<byte> data, SocketFlags flags = SocketFlags.None) => SendTo(fd, data, flags, null);

    public int RecvFrom(int fd, Span<byte> buffer, SocketFlags flags, out Endpoint from)
    {
        from = default;
        if (!TryGet(fd, out var s)) return -1;
        var e = s.TryReceiveFrom(buffer, flags, out var r);
        from = r.From;
        // MSG_TRUNC asks for the real length of a datagram longer than the buffer (Linux udp(7)).
        return Result(e, (flags & SocketFlags.Truncated) != 0 && r.Truncated ? Math.Max(r.Length, s.Available) : r.Length);
    }

    public int Recv(int fd, Span<byte> buffer, SocketFlags flags = SocketFlags.None) => RecvFrom(fd, buffer, flags, out _);

    /// <summary>write(2) on a socket: send() without flags.</summary>
    public int Write(int fd, ReadOnlySpan<byte> data) => Send(fd, data);

    /// <summary>read(2) on a socket: recv() without flags; 0 at end of stream.</summary>
    public int Read(int fd, Span<byte> buffer) => Recv(fd, buffer);

    /// <summary>sendmsg(): gathers the buffers into one datagram.</summary>
    public int SendMsg(int fd, MessageHeader message, SocketFlags flags = SocketFlags.None)
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

    /// <summary>recvmsg(): scatters one datagram over the buffers, reports its source and MSG_TRUNC.</summary>
    public int RecvMsg(int fd, MessageHeader message, SocketFlags flags = SocketFlags.None)
    {
        int capacity = message.Buffers.Sum(b => b.Count);
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 1));
        try
        {
            if (!TryGet(fd, out var s)) return -1;
            var e = s.TryReceiveFrom(scratch.AsSpan(0, capacity), flags, out var r);
            if (e != Errno.Ok) return Fail(e);
            int at = 0;
            foreach (var b in message.Buffers)
            {
                int n = Math.Min(b.Count, r.Length - at);
                if (n <= 0) break;
                scratch.AsSpan(at, n).CopyTo(b.AsSpan());
                at += n;
            }
            message.Name = r.From;
            message.Flags = r.Truncated ? SocketFlags.Truncated : SocketFlags.None;
            return r.Length;
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(scratch); }
    }

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
            case (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer) when value > 0: s.ReceiveBufferSize = value; return 0;
            case (SocketOptionLevel.Socket, SocketOptionName.SendBuffer) when value > 0: s.SendBufferSize = value; return 0;
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

    public int Fcntl(int fd, FcntlCommand command, int flags = 0)
    {
        if (!TryGet(fd, out var s)) return -1;
        switch (command)
        {
            case FcntlCommand.GetFlags: return s.Blocking ? 0 : O_NONBLOCK;
            case FcntlCommand.SetFlags: s.Blocking = (flags & O_NONBLOCK) == 0; return 0;
            default: return Fail(Errno.EINVAL);
        }
    }

    public int Ioctl(int fd, IoctlRequest request, ref int value)
    {
        if (!TryGet(fd, out var s)) return -1;
        switch (request)
        {
            case IoctlRequest.FIONREAD: value = s.Available; return 0;
            case IoctlRequest.FIONBIO: s.Blocking = value == 0; return 0;
            default: return Fail(Errno.EINVAL);
        }
    }

    public int Close(int fd)
    {
        UserSocket? s;
        lock (table)
        {
            if (!descriptors.Remove(fd, out s)) return Fail(Errno.EBADF);
        }
        s.Close();
        return 0;
    }

    /// <summary>
    /// select(): keeps in each list the descriptors that are ready (readable, writable, in error),
    /// waiting up to <paramref name="timeout"/> (null forever, zero to poll). Returns how many are ready.
    /// </summary>
    public int Select(IList<int>? read, IList<int>? write, IList<int>? error, TimeSpan? timeout)
    {
        var all = (read ?? []).Concat(write ?? []).Concat(error ?? []).Distinct().ToList();
        var sockets = new Dictionary<int, UserSocket>();
        foreach (var fd in all)
        {
            if (!TryGet(fd, out var s)) return -1;
            sockets[fd] = s;
        }
        long deadline = timeout is { } t ? Environment.TickCount64 + (long)t.TotalMilliseconds : long.MaxValue;
        lock (host.Gate)
        {
            while (true)
            {
                var r = read?.Where(fd => sockets[fd].IsReadable).ToList() ?? [];
                var w = write?.Where(fd => sockets[fd].IsWritable).ToList() ?? [];
                var x = error?.Where(fd => sockets[fd].HasError).ToList() ?? [];
                int ready = r.Count + w.Count + x.Count;
                long remaining = deadline - Environment.TickCount64;
                if (ready > 0 || remaining <= 0)
                {
                    Replace(read, r); Replace(write, w); Replace(error, x);
                    return ready;
                }
                host.WaitLocked(remaining >= int.MaxValue ? Timeout.Infinite : (int)remaining);
            }
        }
    }

    private static void Replace(IList<int>? list, List<int> ready)
    {
        if (list is null) return;
        list.Clear();
        foreach (var fd in ready) list.Add(fd);
    }
}
