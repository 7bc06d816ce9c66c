using System.Net.Sockets;
using UserStack.Raw;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Tcp;
using UserStack.Udp;
using UserStack.Wire;

namespace UserStack.Sockets.Api;

/// <summary>A datagram as received: how many bytes were copied, from where, and whether it was cut (MSG_TRUNC).</summary>
public readonly record struct ReceiveResult(int Length, Endpoint From, bool Truncated);

/// <summary>
/// A socket on UserStack, the idiomatic .NET face: blocking calls that honour timeouts, async
/// calls with cancellation, exceptions as <see cref="SocketException"/>. The Try* methods return
/// an <see cref="Errno"/> instead and back the descriptor API (<see cref="BsdSockets"/>).
/// Every call takes the host's one lock; blocking waits release it.
/// </summary>
public sealed partial class UserSocket : IDisposable
{
    private readonly StackHost host;
    private readonly UdpSocket? udp;
    private readonly RawSocket? raw;
    private readonly TcpConnection? tcp;
    private readonly List<TaskCompletionSource> waiters = new();
    private bool closed;

    private UserSocket(StackHost host, SocketType type, ProtocolType protocol, UdpSocket? udp, RawSocket? raw, TcpConnection? tcp = null)
    {
        this.tcp = tcp;
        if (tcp is not null) tcp.Signal = Wake;
        this.host = host;
        Type = type;
        Protocol = protocol;
        this.udp = udp;
        this.raw = raw;
        if (udp is not null) udp.Signal = Wake;
        if (raw is not null) raw.Signal = Wake;
    }

    public SocketType Type { get; }
    public ProtocolType Protocol { get; }
    /// <summary>False is O_NONBLOCK: calls that would wait fail with EAGAIN instead.</summary>
    public bool Blocking { get; set; } = true;
    /// <summary>SO_RCVTIMEO: a blocking receive gives up with EAGAIN after this long; null waits forever.</summary>
    public TimeSpan? ReceiveTimeout { get; set; }
    /// <summary>SO_SNDTIMEO: kept for the API; datagram sends never wait.</summary>
    public TimeSpan? SendTimeout { get; set; }
    public bool IsClosed => closed;

    public static Errno TryCreate(StackHost host, AddressFamily family, SocketType type, ProtocolType protocol, out UserSocket? socket)
    {
        socket = null;
        if (family != AddressFamily.InterNetwork) return Errno.EAFNOSUPPORT;
        lock (host.Gate)
        {
            switch (type)
            {
                case SocketType.Dgram when protocol is ProtocolType.Udp or ProtocolType.Unspecified or ProtocolType.IP:
                    socket = new UserSocket(host, type, ProtocolType.Udp, host.Stack.Udp.Open(), null);
                    return Errno.Ok;
                case SocketType.Dgram:
                    return Errno.EPROTONOSUPPORT;
                case SocketType.Raw when (int)protocol is > 0 and < 255:
                    socket = new UserSocket(host, type, protocol, null, host.Stack.Raw.Open((IpProtocol)protocol));
                    return Errno.Ok;
                case SocketType.Raw:
                    return Errno.EPROTONOSUPPORT;
                case SocketType.Stream when protocol is ProtocolType.Tcp or ProtocolType.Unspecified or ProtocolType.IP:
                    socket = new UserSocket(host, type, ProtocolType.Tcp, null, null, host.Stack.Tcp.Open());
                    return Errno.Ok;
                case SocketType.Stream:
                    return Errno.EPROTONOSUPPORT;
                default:
                    return Errno.ESOCKTNOSUPPORT;
            }
        }
    }

    public static UserSocket Create(StackHost host, SocketType type, ProtocolType protocol)
    {
        var e = TryCreate(host, AddressFamily.InterNetwork, type, protocol, out var socket);
        return e == Errno.Ok ? socket! : throw new SocketException((int)e.ToSocketError());
    }

    public static UserSocket Udp(StackHost host) => Create(host, SocketType.Dgram, ProtocolType.Udp);

    // ---- the calls, errno style ------------------------------------------------------------

    public Errno TryBind(Endpoint local)
    {
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            if (tcp is not null) return host.Stack.Tcp.Bind(tcp, local);
            if (udp is not null) return host.Stack.Udp.Bind(udp, local);
            return host.Stack.Raw.Bind(raw!, local.Address);
        }
    }

    public Errno TryConnect(Endpoint remote)
    {
        if (tcp is not null) return TryConnectStream(remote, Blocking);
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            if (udp is not null) return host.Stack.Udp.Connect(udp, remote);
            return host.Stack.Raw.Connect(raw!, remote.Address);
        }
    }

    /// <summary>sendto(): one datagram; <paramref name="to"/> null sends to the connected peer.</summary>
    public Errno TrySendTo(ReadOnlySpan<byte> data, Endpoint? to, out int sent) => TrySend(data, to, 0, out sent);

    /// <summary>
    /// sendto() with Linux's MSG_* flags. A stream socket ignores the address, as Linux's
    /// tcp_sendmsg does; MSG_OOB is EOPNOTSUPP (our TCP has no urgent data; Linux's UDP and raw
    /// sockets answer the same). MSG_NOSIGNAL, MSG_MORE, MSG_EOR and MSG_DONTROUTE are accepted and
    /// change nothing (there are no signals: EPIPE is returned either way).
    /// </summary>
    public Errno TrySend(ReadOnlySpan<byte> data, Endpoint? to, int flags, out int sent)
    {
        sent = 0;
        if ((flags & Linux.MSG_OOB) != 0) return Errno.EOPNOTSUPP;
        if (tcp is not null) return TrySendStream(data, flags, out sent);
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            if (writeShut) return Errno.EPIPE;
            var pending = TakeError();
            if (pending != Errno.Ok) return pending;
            var now = host.Now;
            var e = udp is not null ? host.Stack.Udp.Send(udp, data, to, now)
                : Extras.HeaderIncluded ? host.Stack.Raw.SendHeaderIncluded(raw!, data, to?.Address, now)
                : host.Stack.Raw.Send(raw!, data, to?.Address, now);
            host.Reschedule();
            if (e == Errno.Ok) sent = data.Length;
            return e;
        }
    }

    /// <summary>
    /// recvfrom(): the next datagram, waiting if the socket blocks (up to SO_RCVTIMEO, then
    /// EAGAIN). MSG_PEEK leaves it queued, MSG_DONTWAIT never waits; a longer datagram is cut and
    /// reported as truncated.
    /// </summary>
    public Errno TryReceiveFrom(Span<byte> buffer, SocketFlags flags, out ReceiveResult result)
    {
        var e = TryReceive(buffer, ToLinuxFlags(flags), out int copied, out int full, out var from);
        result = new ReceiveResult(copied, from, full > copied);
        return e;
    }

    /// <summary>.NET's <see cref="SocketFlags"/> as Linux's MSG_* bits (they differ for MSG_TRUNC; 0x40 is MSG_DONTWAIT in both uses here).</summary>
    internal static int ToLinuxFlags(SocketFlags flags)
    {
        int linux = (int)flags & (Linux.MSG_OOB | Linux.MSG_PEEK | Linux.MSG_DONTROUTE | Linux.MSG_DONTWAIT);
        if ((flags & SocketFlags.Truncated) != 0) linux |= Linux.MSG_TRUNC;
        return linux;
    }

    /// <summary>
    /// recvfrom() with Linux's MSG_* flags. <paramref name="copied"/> bytes went to the buffer;
    /// <paramref name="fullLength"/> is the whole datagram (equal to copied on a stream).
    /// Datagram: MSG_PEEK leaves it queued, MSG_DONTWAIT never waits, a longer one is cut.
    /// Stream: see <see cref="TryReceiveStream"/>. Blocking waits end at SO_RCVTIMEO on the host's clock (then EAGAIN).
    /// </summary>
    public Errno TryReceive(Span<byte> buffer, int flags, out int copied, out int fullLength, out Endpoint from)
    {
        copied = fullLength = 0;
        from = default;
        if (tcp is not null)
        {
            var se = TryReceiveStream(buffer, flags, out copied);
            fullLength = copied;
            lock (host.Gate) from = tcp.Remote ?? default;
            return se;
        }
        if (raw is not null && (flags & Linux.MSG_OOB) != 0) return Errno.EOPNOTSUPP; // raw_recvmsg; udp_recvmsg ignores the bit
        bool peek = (flags & Linux.MSG_PEEK) != 0;
        bool wait = Blocking && (flags & Linux.MSG_DONTWAIT) == 0;
        var deadline = ReceiveDeadline();
        lock (host.Gate)
        {
            while (true)
            {
                if (closed) return Errno.EBADF;
                var pending = TakeError();
                if (pending != Errno.Ok) return pending;
                var e = udp is not null
                    ? udp.TryReceive(buffer, peek, out copied, out fullLength, out from)
                    : raw!.TryReceive(buffer, peek, out copied, out fullLength, out from);
                if (e == Errno.Ok) return Errno.Ok;
                if (readShut) return Errno.Ok; // shut for reading and empty: 0, as Linux
                if (!wait || !host.WaitLocked(deadline)) return Errno.EAGAIN;
            }
        }
    }

    /// <summary>When a blocking receive gives up: SO_RCVTIMEO on the host's clock (negative: at once, as Linux's zero timeo).</summary>
    private Time.Instant ReceiveDeadline() => ReceiveTimeout is { } t && t < TimeSpan.Zero ? host.Now : host.DeadlineAfter(ReceiveTimeout);
    private Time.Instant SendDeadline() => SendTimeout is { } t && t < TimeSpan.Zero ? host.Now : host.DeadlineAfter(SendTimeout);

    /// <summary>Waits without blocking a thread until the socket is readable (or closed, or cancelled).</summary>
    private async ValueTask WaitReadableAsync(CancellationToken cancel)
    {
        TaskCompletionSource tcs;
        lock (host.Gate)
        {
            if (closed || IsReadableLocked) return;
            tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add(tcs);
        }
        try { await tcs.Task.WaitAsync(cancel).ConfigureAwait(false); }
        finally { lock (host.Gate) waiters.Remove(tcs); }
    }

    public Errno TryGetSockName(out Endpoint local)
    {
        lock (host.Gate)
        {
            local = tcp is not null ? tcp.Local : udp is not null ? udp.Local : new Endpoint(raw!.LocalAddress, 0);
            return closed ? Errno.EBADF : Errno.Ok;
        }
    }

    public Errno TryGetPeerName(out Endpoint remote)
    {
        lock (host.Gate)
        {
            remote = default;
            if (closed) return Errno.EBADF;
            if (tcp is not null) { if (tcp.Remote is not { } t || tcp.State is TcpState.Closed or TcpState.Listen or TcpState.SynSent) return Errno.ENOTCONN; remote = t; return Errno.Ok; }
            if (udp is not null) { if (udp.Remote is not { } r) return Errno.ENOTCONN; remote = r; return Errno.Ok; }
            if (raw!.RemoteAddress is not { } a) return Errno.ENOTCONN;
            remote = new Endpoint(a, 0);
            return Errno.Ok;
        }
    }

    /// <summary>FIONREAD: bytes of the next datagram (Linux's answer for UDP and raw sockets).</summary>
    public int Available
    {
        get { lock (host.Gate) return tcp?.Available ?? udp?.NextDatagramLength ?? raw!.NextDatagramLength; }
    }

    public bool IsReadable { get { lock (host.Gate) return IsReadableLocked; } }
    private bool IsReadableLocked => closed || (tcp?.IsReadable ?? udp?.IsReadable ?? (raw!.IsReadable || raw.PendingError != Errno.Ok));
    /// <summary>Datagram sockets never wait to send; a stream socket can when its send buffer is full.</summary>
    public bool IsWritable { get { lock (host.Gate) return tcp is null || closed || tcp.IsWritable && !tcp.IsConnecting; } }
    public bool HasError { get { lock (host.Gate) return (tcp?.PendingError ?? udp?.PendingError ?? raw!.PendingError) != Errno.Ok; } }

    // ---- options ---------------------------------------------------------------------------

    public bool ReuseAddress
    {
        get { lock (host.Gate) return tcp?.ReuseAddress ?? udp?.ReuseAddress ?? false; }
        set { lock (host.Gate) { if (tcp is not null) tcp.ReuseAddress = value; else if (udp is not null) udp.ReuseAddress = value; } }
    }

    public bool Broadcast
    {
        get { lock (host.Gate) return tcp is null && (udp?.Broadcast ?? raw!.Broadcast); }
        set { lock (host.Gate) { if (udp is not null) udp.Broadcast = value; else if (raw is not null) raw.Broadcast = value; } }
    }

    public int ReceiveBufferSize
    {
        get { lock (host.Gate) return tcp?.ReceiveBufferCapacity ?? udp?.ReceiveBufferSize ?? raw!.ReceiveBufferSize; }
        set => TrySetBufferSize(receive: true, value); // TCP: only before the connection starts
    }

    public int SendBufferSize
    {
        get { lock (host.Gate) return tcp?.SendBufferCapacity ?? udp?.SendBufferSize ?? raw!.SendBufferSize; }
        set => TrySetBufferSize(receive: false, value);
    }

    /// <summary>IP_TTL of outgoing datagrams.</summary>
    public byte TimeToLive
    {
        get { lock (host.Gate) return tcp?.TimeToLive ?? udp?.TimeToLive ?? raw!.TimeToLive; }
        set { lock (host.Gate) { if (tcp is not null) tcp.TimeToLive = value; else if (udp is not null) udp.TimeToLive = value; else raw!.TimeToLive = value; } }
    }

    /// <summary>SO_ERROR: reads and clears the pending asynchronous error.</summary>
    public Errno TakePendingError() { lock (host.Gate) return TakeError(); }

    private Errno TakeError() => tcp?.TakeError() ?? udp?.TakeError() ?? raw!.TakeError();

    /// <summary>Datagrams this socket lost because its receive buffer was full.</summary>
    public long ReceiveBufferDrops { get { lock (host.Gate) return tcp is not null ? 0 : udp?.ReceiveBufferDrops ?? raw!.ReceiveBufferDrops; } }

    // ---- the idiomatic face ----------------------------------------------------------------

    public void Bind(Endpoint local) => Check(TryBind(local));
    public void Connect(Endpoint remote) => Check(TryConnect(remote));
    public Endpoint LocalEndpoint { get { Check(TryGetSockName(out var e)); return e; } }
    public Endpoint RemoteEndpoint { get { Check(TryGetPeerName(out var e)); return e; } }

    public int SendTo(ReadOnlySpan<byte> data, Endpoint to) { Check(TrySendTo(data, to, out int n)); return n; }
    public int Send(ReadOnlySpan<byte> data) { Check(TrySendTo(data, null, out int n)); return n; }

    public ReceiveResult ReceiveFrom(Span<byte> buffer, SocketFlags flags = SocketFlags.None)
    {
        Check(TryReceiveFrom(buffer, flags, out var r));
        return r;
    }

    public int Receive(Span<byte> buffer) => ReceiveFrom(buffer).Length;

    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> data, Endpoint to, CancellationToken cancel = default)
    {
        cancel.ThrowIfCancellationRequested();
        return ValueTask.FromResult(SendTo(data.Span, to)); // datagram sends never wait
    }

    public async ValueTask<ReceiveResult> ReceiveFromAsync(Memory<byte> buffer, CancellationToken cancel = default)
    {
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var e = TryReceiveFrom(buffer.Span, (SocketFlags)0x40, out var r);
            if (e == Errno.Ok) return r;
            if (e != Errno.EAGAIN || !Blocking) throw new SocketException((int)e.ToSocketError());
            await WaitReadableAsync(cancel).ConfigureAwait(false);
        }
    }

    private static void Check(Errno e)
    {
        if (e != Errno.Ok) throw new SocketException((int)e.ToSocketError());
    }

    // Under the host lock, from the core: data or an error arrived.
    private void Wake()
    {
        host.WakeAllLocked();
        foreach (var w in waiters) w.TrySetResult();
    }

    public void Close()
    {
        lock (host.Gate)
        {
            if (closed) return;
            closed = true;
            if (tcp is not null)
            {
                if (Linger == TimeSpan.Zero && tcp.State != TcpState.Listen) tcp.Abort(host.Now, Errno.Ok); // SO_LINGER 0: RST, and the connection is gone
                else host.Stack.Tcp.Close(tcp, host.Now);
                host.Reschedule();
            }
            else if (udp is not null) host.Stack.Udp.Close(udp);
            else host.Stack.Raw.Close(raw!);
            Wake();
        }
    }

    public void Dispose() => Close();

    public override string ToString() { lock (host.Gate) return tcp?.ToString() ?? udp?.ToString() ?? raw!.ToString(); }
}
