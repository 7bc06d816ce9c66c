using System.Net.Sockets;
using System.Runtime.CompilerServices;
using UserStack.Sockets.Endpoints;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Sockets.Api;

/// <summary>A datagram as received: how many bytes were copied, from where, and whether it was cut (MSG_TRUNC).</summary>
public readonly record struct ReceiveResult(int Length, Endpoint From, bool Truncated);

/// <summary>
/// A socket on UserStack, the idiomatic .NET face: blocking calls that honour timeouts, async
/// calls with cancellation, exceptions as <see cref="SocketException"/>. The Try* methods return
/// an <see cref="Errno"/> instead and back the descriptor API (<see cref="BsdSockets"/>).
/// The protocol side is one endpoint (Sockets/Endpoints: a stream endpoint for TCP, a datagram
/// endpoint for UDP and raw IP) that every call goes through. Every call takes the host's one
/// lock; blocking waits release it and sleep on this socket's own wait queue, which the core's
/// signal for this socket (and nothing else) wakes. Async waits use reusable value-task sources.
/// </summary>
public sealed partial class UserSocket : IDisposable
{
    private readonly StackHost host;
    private readonly IEndpoint endpoint;
    private readonly IStreamEndpoint? stream;     // the endpoint, when it is a stream
    private readonly IDatagramEndpoint? datagram; // the endpoint, when it is datagrams
    private readonly WaitQueue waiters;
    private AsyncWaiter? readWaiter, writeWaiter; // one per direction, made on first async use
    private bool closed;

    private UserSocket(StackHost host, SocketType type, ProtocolType protocol, IEndpoint endpoint)
    {
        this.host = host;
        Type = type;
        Protocol = protocol;
        this.endpoint = endpoint;
        stream = endpoint as IStreamEndpoint;
        datagram = endpoint as IDatagramEndpoint;
        waiters = host.CreateWaitQueue();
        endpoint.Signal = Wake;
    }

    public SocketType Type { get; }
    public ProtocolType Protocol { get; }
    /// <summary>False is O_NONBLOCK: calls that would wait fail with EAGAIN instead.</summary>
    public bool Blocking { get; set; } = true;
    /// <summary>SO_RCVTIMEO: a blocking receive gives up with EAGAIN after this long; null waits forever.</summary>
    public TimeSpan? ReceiveTimeout { get; set; }
    /// <summary>SO_SNDTIMEO: how long a blocking stream send or connect waits; datagram sends never wait.</summary>
    public TimeSpan? SendTimeout { get; set; }
    public bool IsClosed => closed;
    /// <summary>
    /// Async waits of this socket that arriving frames end complete on the device's reader thread, right
    /// after those frames, instead of on the thread pool (StackHost.Inline.cs). Faster for a server
    /// whose continuations only compute and call the socket's async methods; a continuation that
    /// blocks stalls the reader. Off by default; accepted sockets take their listener's setting.
    /// </summary>
    public bool InlineCompletions { get; set; }

    /// <summary>This socket's wait queue (poll and select register on it).</summary>
    internal WaitQueue Waiters => waiters;

    public static Errno TryCreate(StackHost host, AddressFamily family, SocketType type, ProtocolType protocol, out UserSocket? socket)
    {
        socket = null;
        if (family != AddressFamily.InterNetwork) return Errno.EAFNOSUPPORT;
        lock (host.Gate)
        {
            switch (type)
            {
                case SocketType.Dgram when protocol is ProtocolType.Udp or ProtocolType.Unspecified or ProtocolType.IP:
                    socket = new UserSocket(host, type, ProtocolType.Udp, new UdpEndpoint(host, host.Stack.Udp.Open()));
                    return Errno.Ok;
                case SocketType.Dgram:
                    return Errno.EPROTONOSUPPORT;
                case SocketType.Raw when (int)protocol is > 0 and < 255:
                    socket = new UserSocket(host, type, protocol, new RawEndpoint(host, host.Stack.Raw.Open((IpProtocol)protocol)));
                    return Errno.Ok;
                case SocketType.Raw:
                    return Errno.EPROTONOSUPPORT;
                case SocketType.Stream when protocol is ProtocolType.Tcp or ProtocolType.Unspecified or ProtocolType.IP:
                    socket = new UserSocket(host, type, ProtocolType.Tcp, new TcpEndpoint(host, host.Stack.Tcp.Open()));
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
        lock (host.Gate) return closed ? Errno.EBADF : endpoint.Bind(local);
    }

    public Errno TryConnect(Endpoint remote)
    {
        if (stream is not null) return TryConnectStream(remote, Blocking);
        lock (host.Gate) return closed ? Errno.EBADF : datagram!.Connect(remote);
    }

    /// <summary>sendto(): one datagram; <paramref name="to"/> null sends to the connected peer.</summary>
    public Errno TrySendTo(ReadOnlySpan<byte> data, Endpoint? to, out int sent) => TrySend(data, to, 0, out sent);

    /// <summary>
    /// sendto() with Linux's MSG_* flags. A stream socket ignores the address, as Linux's
    /// tcp_sendmsg does; MSG_OOB on a stream makes the bytes urgent (SND.UP at their end), on UDP
    /// and raw sockets it is EOPNOTSUPP, as Linux. MSG_NOSIGNAL, MSG_MORE, MSG_EOR and MSG_DONTROUTE are accepted and
    /// change nothing (there are no signals: EPIPE is returned either way).
    /// </summary>
    public Errno TrySend(ReadOnlySpan<byte> data, Endpoint? to, int flags, out int sent)
    {
        sent = 0;
        if (stream is not null) return TrySendStream(data, flags, out sent);
        if ((flags & Linux.MSG_OOB) != 0) return Errno.EOPNOTSUPP;
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            if (datagram!.WriteShut) return Errno.EPIPE;
            var pending = datagram.TakeError();
            if (pending != Errno.Ok) return pending;
            var e = datagram.Send(data, to, host.Now, Extras.HeaderIncluded);
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
        if (stream is not null)
        {
            var se = TryReceiveStream(buffer, flags, out copied);
            fullLength = copied;
            lock (host.Gate) from = stream.Connection.Remote ?? default;
            return se;
        }
        return TryReceiveDatagram(buffer, flags, out copied, out fullLength, out from);
    }

    private Errno TryReceiveDatagram(Span<byte> buffer, int flags, out int copied, out int fullLength, out Endpoint from)
    {
        copied = fullLength = 0;
        from = default;
        var d = datagram!;
        if ((flags & Linux.MSG_OOB) != 0 && d.RefusesOutOfBand) return Errno.EOPNOTSUPP; // raw_recvmsg; udp_recvmsg ignores the bit
        bool peek = (flags & Linux.MSG_PEEK) != 0;
        bool wait = Blocking && (flags & Linux.MSG_DONTWAIT) == 0;
        var deadline = ReceiveDeadline();
        lock (host.Gate)
        {
            while (true)
            {
                if (closed) return Errno.EBADF;
                var pending = d.TakeError();
                if (pending != Errno.Ok) return pending;
                if (d.Receive(buffer, peek, out copied, out fullLength, out from) == Errno.Ok) return Errno.Ok;
                if (d.ReadShut) return Errno.Ok; // shut for reading and empty: 0, as Linux
                if (!wait || !WaitLocked(deadline)) return Errno.EAGAIN;
            }
        }
    }

    /// <summary>When a blocking receive gives up: SO_RCVTIMEO on the host's clock (negative: at once, as Linux's zero timeo).</summary>
    private Time.Instant ReceiveDeadline() => ReceiveTimeout is { } t && t < TimeSpan.Zero ? host.Now : host.DeadlineAfter(ReceiveTimeout);
    private Time.Instant SendDeadline() => SendTimeout is { } t && t < TimeSpan.Zero ? host.Now : host.DeadlineAfter(SendTimeout);

    /// <summary>Under the lock: sleeps on this socket's queue until it is woken or the deadline passes (on the host's clock); false when the deadline had passed.</summary>
    private bool WaitLocked(Time.Instant deadline) => host.WaitLocked(waiters, deadline);

    public Errno TryGetSockName(out Endpoint local)
    {
        lock (host.Gate)
        {
            local = endpoint.LocalEndpoint;
            return closed ? Errno.EBADF : Errno.Ok;
        }
    }

    public Errno TryGetPeerName(out Endpoint remote)
    {
        lock (host.Gate)
        {
            remote = default;
            return closed ? Errno.EBADF : endpoint.GetPeer(out remote);
        }
    }

    /// <summary>FIONREAD: bytes readable on a stream; bytes of the next datagram (Linux's answer for UDP and raw sockets).</summary>
    public int Available { get { lock (host.Gate) return endpoint.Available; } }

    public bool IsReadable { get { lock (host.Gate) return IsReadableLocked; } }
    private bool IsReadableLocked => closed || endpoint.IsReadable;
    /// <summary>Datagram sockets never wait to send; a stream socket can when its send buffer is full.</summary>
    public bool IsWritable { get { lock (host.Gate) return closed || endpoint.IsWritable; } }
    public bool HasError { get { lock (host.Gate) return endpoint.PendingError != Errno.Ok; } }

    // ---- options ---------------------------------------------------------------------------

    public bool ReuseAddress
    {
        get { lock (host.Gate) return endpoint.ReuseAddress; }
        set { lock (host.Gate) endpoint.ReuseAddress = value; }
    }

    public bool Broadcast
    {
        get { lock (host.Gate) return endpoint.Broadcast; }
        set { lock (host.Gate) endpoint.Broadcast = value; }
    }

    public int ReceiveBufferSize
    {
        get { lock (host.Gate) return endpoint.ReceiveBufferSize; }
        set => TrySetBufferSize(receive: true, value); // TCP: only before the connection starts
    }

    public int SendBufferSize
    {
        get { lock (host.Gate) return endpoint.SendBufferSize; }
        set => TrySetBufferSize(receive: false, value);
    }

    /// <summary>IP_TTL of outgoing datagrams.</summary>
    public byte TimeToLive
    {
        get { lock (host.Gate) return endpoint.TimeToLive; }
        set { lock (host.Gate) endpoint.TimeToLive = value; }
    }

    /// <summary>SO_ERROR: reads and clears the pending asynchronous error.</summary>
    public Errno TakePendingError() { lock (host.Gate) return endpoint.TakeSocketError(); }

    /// <summary>Datagrams this socket lost because its receive buffer was full.</summary>
    public long ReceiveBufferDrops { get { lock (host.Gate) return endpoint.ReceiveBufferDrops; } }

    // ---- the idiomatic face ----------------------------------------------------------------

    public void Bind(Endpoint local) => Check(TryBind(local));
    public void Connect(Endpoint remote) => Check(TryConnect(remote));
    public Endpoint LocalEndpoint { get { Check(TryGetSockName(out var e)); return e; } }
    public Endpoint RemoteEndpoint { get { Check(TryGetPeerName(out var e)); return e; } }

    public int SendTo(ReadOnlySpan<byte> data, Endpoint to) { Check(TrySendTo(data, to, out int n)); return n; }

    public int Send(ReadOnlySpan<byte> data)
    {
        Check(stream is not null ? TrySendStream(data, 0, out int n) : TrySend(data, null, 0, out n));
        return n;
    }

    public ReceiveResult ReceiveFrom(Span<byte> buffer, SocketFlags flags = SocketFlags.None)
    {
        Check(TryReceiveFrom(buffer, flags, out var r));
        return r;
    }

    /// <summary>recv(): a stream's bytes (0 at the end), or one datagram's.</summary>
    public int Receive(Span<byte> buffer)
    {
        if (stream is null) return ReceiveFrom(buffer).Length;
        Check(TryReceiveStream(buffer, 0, out int n));
        return n;
    }

    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> data, Endpoint to, CancellationToken cancel = default)
    {
        cancel.ThrowIfCancellationRequested();
        return ValueTask.FromResult(SendTo(data.Span, to)); // datagram sends never wait
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReceiveResult> ReceiveFromAsync(Memory<byte> buffer, CancellationToken cancel = default)
    {
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var e = TryReceiveFrom(buffer.Span, (SocketFlags)0x40, out var r);
            if (e == Errno.Ok) return r;
            if (e != Errno.EAGAIN || !Blocking) throw new SocketException((int)e.ToSocketError());
            await WaitAsync(WaitFor.Readable, cancel).ConfigureAwait(false);
        }
    }

    private static void Check(Errno e)
    {
        if (e != Errno.Ok) throw new SocketException((int)e.ToSocketError());
    }

    /// <summary>What an async call waits for (an enum, not a delegate: nothing to allocate).</summary>
    private enum WaitFor { Readable, Writable, Acceptable, Connected, ReceivedBeyond }

    private bool IsReadyLocked(WaitFor what, int beyond) => closed || what switch
    {
        WaitFor.Readable => endpoint.IsReadable,
        WaitFor.ReceivedBeyond => endpoint.Available > beyond || stream!.ReceiveEnded,
        WaitFor.Writable => endpoint.IsWritable,
        WaitFor.Acceptable => stream!.CanAccept || !stream.IsListening,
        _ => !stream!.IsConnecting,
    };

    /// <summary>
    /// Waits, without a thread, until <paramref name="what"/> holds or the socket closes: the
    /// check and the registration on this socket's queue happen under one hold of the lock, so no
    /// wake-up is lost. The direction's reusable <see cref="AsyncWaiter"/> makes it allocation-free;
    /// a second concurrent wait in the same direction gets a fresh one.
    /// </summary>
    private ValueTask WaitAsync(WaitFor what, CancellationToken cancel, int beyond = 0)
    {
        lock (host.Gate)
        {
            if (IsReadyLocked(what, beyond)) return ValueTask.CompletedTask;
            bool reading = what is WaitFor.Readable or WaitFor.Acceptable or WaitFor.ReceivedBeyond;
            var waiter = reading ? readWaiter ??= new AsyncWaiter(host.Gate) : writeWaiter ??= new AsyncWaiter(host.Gate);
            if (!waiter.TryTake())
            {
                waiter = new AsyncWaiter(host.Gate);
                waiter.TryTake();
            }
            return waiter.WaitLocked(waiters, cancel, InlineCompletions);
        }
    }

    // Under the host lock, from the core (or a shutdown/close here): this socket's state changed.
    private void Wake() => waiters.WakeLocked();

    public void Close()
    {
        lock (host.Gate)
        {
            if (closed) return;
            closed = true;
            endpoint.Close(host.Now, abort: Linger == TimeSpan.Zero);
            Wake();
            endpoint.Signal = null; // the connection may live on (FIN-WAIT, TIME-WAIT): it must not keep this socket and its waiters alive
        }
    }

    public void Dispose() => Close();

    public override string ToString() { lock (host.Gate) return endpoint.ToString()!; }
}
