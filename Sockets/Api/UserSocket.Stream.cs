using System.Net.Sockets;
using System.Runtime.CompilerServices;
using UserStack.Sockets.Endpoints;
using UserStack.Tcp;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

// The stream (TCP) calls: listen, accept, connect, send, recv, shutdown, and their waits.
public sealed partial class UserSocket
{
    /// <summary>SO_LINGER: zero makes close() abort with RST; null is the graceful default.</summary>
    public TimeSpan? Linger { get; set; }

    /// <summary>The TCP state, for learners and the HTTP page; null for other sockets.</summary>
    public TcpState? State { get { lock (host.Gate) return stream?.State; } }

    /// <summary>Where connect() stands, as Linux's sock->state (SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED).</summary>
    private enum ConnectPhase { Unconnected, Connecting, Connected }
    private ConnectPhase phase;

    public Errno TryListen(int backlog)
    {
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            if (stream is null) return Errno.EOPNOTSUPP;
            return stream.Listen(backlog, host.Now);
        }
    }

    /// <summary>accept(): the next established connection, waiting if the socket blocks.</summary>
    public Errno TryAccept(out UserSocket? accepted) => TryAccept(Blocking, out accepted);

    private Errno TryAccept(bool wait, out UserSocket? accepted)
    {
        accepted = null;
        if (stream is null) return Errno.EOPNOTSUPP;
        var deadline = ReceiveDeadline();
        lock (host.Gate)
        {
            while (true)
            {
                if (closed) return Errno.EBADF;
                if (!stream.IsListening) return Errno.EINVAL;
                if (stream.Accept() is { } child)
                {
                    // accept() hands down what the listener's socket holds, as Linux clones the listening sock.
                    accepted = new UserSocket(host, SocketType.Stream, ProtocolType.Tcp, child)
                    {
                        phase = ConnectPhase.Connected,
                        ReceiveTimeout = ReceiveTimeout,
                        SendTimeout = SendTimeout,
                        Linger = Linger,
                        InlineCompletions = InlineCompletions,
                        Extras = Extras.Clone(),
                    };
                    return Errno.Ok;
                }
                if (!wait || !WaitLocked(deadline)) return Errno.EAGAIN;
            }
        }
    }

    /// <summary>
    /// connect() on a stream, as Linux's __inet_stream_connect: a blocking one waits for the
    /// handshake and returns 0 or its error (ECONNREFUSED, ETIMEDOUT; EINPROGRESS when SO_SNDTIMEO
    /// ends the wait, man 7 socket); a non-blocking one answers EINPROGRESS, then EALREADY while the
    /// handshake runs, 0 once it completed (the first call after), EISCONN after that.
    /// </summary>
    private Errno TryConnectStream(Endpoint remote, bool wait)
    {
        var deadline = SendDeadline();
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            Errno answer;
            switch (phase)
            {
                case ConnectPhase.Connected:
                    return Errno.EISCONN;
                case ConnectPhase.Connecting:
                    answer = Errno.EALREADY;
                    break;
                default:
                    if (stream!.State != TcpState.Closed) return Errno.EISCONN; // a listener, as Linux
                    var e = stream.Connect(remote, host.Now);
                    if (e != Errno.Ok) return e;
                    phase = ConnectPhase.Connecting;
                    answer = Errno.EINPROGRESS;
                    break;
            }
            while (stream!.IsConnecting)
                if (!wait || !WaitLocked(deadline)) return answer;
            return FinishConnectLocked();
        }
    }

    /// <summary>The handshake is over: 0 if the connection stands, else its error (ECONNABORTED if SO_ERROR already took it).</summary>
    private Errno FinishConnectLocked()
    {
        if (stream!.IsConnected) { phase = ConnectPhase.Connected; return Errno.Ok; }
        phase = ConnectPhase.Unconnected;
        var error = stream.TakeError();
        return error == Errno.Ok ? Errno.ECONNABORTED : error;
    }

    /// <summary>
    /// send() on a stream: blocking sends everything (waiting for buffer space up to SO_SNDTIMEO),
    /// non-blocking what fits. On a socket that is not connected (never, or no longer) it is EPIPE,
    /// as Linux's sk_stream_wait_connect; a pending error (ECONNRESET) is reported first.
    /// </summary>
    private Errno TrySendStream(ReadOnlySpan<byte> data, int flags, out int sent)
    {
        sent = 0;
        bool wait = Blocking && (flags & Linux.MSG_DONTWAIT) == 0;
        var deadline = SendDeadline();
        lock (host.Gate)
        {
            while (true)
            {
                if (closed) return Errno.EBADF;
                if (stream!.IsConnecting)
                {
                    if (!wait) return Errno.EAGAIN;
                    if (!WaitLocked(deadline)) return Errno.EAGAIN;
                    continue;
                }
                int n = stream.Send(data[sent..], host.Now, out var e, urgent: (flags & Linux.MSG_OOB) != 0);
                if (e == Errno.ENOTCONN) e = Errno.EPIPE;
                sent += n;
                if (sent == data.Length) return Errno.Ok;
                if (e != Errno.Ok && e != Errno.EAGAIN) return sent > 0 ? Errno.Ok : e;
                if (!wait) return sent > 0 ? Errno.Ok : Errno.EAGAIN;
                if (!WaitLocked(deadline)) return sent > 0 ? Errno.Ok : Errno.EAGAIN;
            }
        }
    }

    /// <summary>
    /// recv() on a stream (Linux's tcp_recvmsg): what is there (at least one byte), 0 at end of
    /// stream. MSG_PEEK leaves the bytes queued; MSG_WAITALL waits until the buffer is full, the
    /// stream ends, an error comes or SO_RCVTIMEO passes (then what arrived); MSG_TRUNC takes the
    /// bytes and discards them; MSG_OOB takes the out-of-band byte (TcpConnection.ReceiveUrgent:
    /// EINVAL without one, EAGAIN before it arrived; never waits). No read crosses the urgent mark.
    /// </summary>
    private Errno TryReceiveStream(Span<byte> buffer, int flags, out int received)
    {
        received = 0;
        bool wait = Blocking && (flags & Linux.MSG_DONTWAIT) == 0;
        bool peek = (flags & Linux.MSG_PEEK) != 0;
        bool waitAll = (flags & Linux.MSG_WAITALL) != 0;
        byte[]? discard = (flags & Linux.MSG_TRUNC) != 0 && buffer.Length > 0 ? System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length) : null;
        var into = discard is null ? buffer : discard.AsSpan(0, buffer.Length);
        var deadline = ReceiveDeadline();
        try
        {
            lock (host.Gate)
            {
                while (true)
                {
                    if (closed) return Errno.EBADF;
                    if (stream!.IsListening) return Errno.ENOTCONN;
                    if ((flags & Linux.MSG_OOB) != 0)
                    {
                        var ue = stream.Connection.ReceiveUrgent(into, peek, out received);
                        if (received > 0) received = into.Length > 0 ? 1 : 0;
                        return ue;
                    }
                    if (into.Length == 0) return Errno.Ok;
                    int n = stream.Receive(peek ? into : into[received..], peek, host.Now, out var e);
                    if (n > 0)
                    {
                        received = peek ? n : received + n;
                        if (!waitAll || received == into.Length || !wait) return Errno.Ok;
                        if (stream.Connection.AtUrgentMark) return Errno.Ok; // tcp_recvmsg stops at the mark even with MSG_WAITALL
                        if (!peek) continue; // MSG_WAITALL: take more, or see the end, before waiting
                        if (peek && stream.ReceiveEnded) return Errno.Ok;
                    }
                    else if (e == Errno.Ok) return Errno.Ok;                                   // end of stream
                    else if (e == Errno.ENOTCONN && phase == ConnectPhase.Connected) return Errno.Ok; // the connection ended (reset reported already): 0, as Linux
                    else if (e != Errno.EAGAIN) return received > 0 ? Errno.Ok : e;
                    else if (!wait) return received > 0 ? Errno.Ok : Errno.EAGAIN;
                    if (!WaitLocked(deadline)) return received > 0 ? Errno.Ok : Errno.EAGAIN;
                }
            }
        }
        finally
        {
            if (discard is not null) System.Buffers.ArrayPool<byte>.Shared.Return(discard);
        }
    }

    /// <summary>shutdown(): stop reading, writing (our FIN), or both.</summary>
    /// <remarks>
    /// As Linux's inet_shutdown: ENOTCONN on a stream socket that is not connected (CLOSED) and on
    /// an unconnected datagram socket; on a listener SHUT_RD or SHUT_RDWR stops listening (accept
    /// then fails with EINVAL) and SHUT_WR does nothing; in SYN-SENT the connection attempt ends.
    /// A connected datagram socket remembers it: reads then return 0, sends EPIPE.
    /// </remarks>
    public Errno TryShutdown(SocketShutdown how)
    {
        bool read = how is SocketShutdown.Receive or SocketShutdown.Both, write = how is SocketShutdown.Send or SocketShutdown.Both;
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            var e = endpoint.Shutdown(read, write, host.Now);
            if (e == Errno.Ok && stream is { State: TcpState.Closed } && phase == ConnectPhase.Connecting) phase = ConnectPhase.Unconnected; // SYN-SENT: the attempt ended
            return e;
        }
    }

    // ---- idiomatic stream calls ------------------------------------------------------------

    public static UserSocket Tcp(Sockets.Host.StackHost host) => Create(host, SocketType.Stream, ProtocolType.Tcp);

    public void Listen(int backlog = 128) => Check(TryListen(backlog));

    public UserSocket Accept()
    {
        Check(TryAccept(out var s));
        return s!;
    }

    public void Shutdown(SocketShutdown how) => Check(TryShutdown(how));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<UserSocket> AcceptAsync(CancellationToken cancel = default)
    {
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var e = TryAccept(wait: false, out var s);
            if (e == Errno.Ok) return s!;
            if (e != Errno.EAGAIN) Check(e);
            await WaitAsync(WaitFor.Acceptable, cancel).ConfigureAwait(false);
        }
    }

    public async ValueTask ConnectAsync(Endpoint remote, CancellationToken cancel = default)
    {
        var e = stream is null ? TryConnect(remote) : TryConnectStream(remote, wait: false);
        if (e != Errno.EINPROGRESS) { Check(e); return; }
        await WaitAsync(WaitFor.Connected, cancel).ConfigureAwait(false);
        lock (host.Gate)
        {
            var error = FinishConnectLocked();
            Check(error == Errno.ECONNABORTED ? Errno.ECONNREFUSED : error);
        }
    }

    /// <summary>
    /// Waits until a receive would not wait (data, the end of the stream, an error, or the socket
    /// closed), as a zero-byte read on a .NET Socket: a server with many idle connections rents its
    /// receive buffer only then, instead of holding one per connection.
    /// </summary>
    public ValueTask WaitReadableAsync(CancellationToken cancel = default) => WaitAsync(WaitFor.Readable, cancel);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancel = default)
    {
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var e = TryReceiveStream(buffer.Span, Linux.MSG_DONTWAIT, out int n);
            if (e == Errno.Ok) return n;
            if (e != Errno.EAGAIN) Check(e);
            await WaitAsync(WaitFor.Readable, cancel).ConfigureAwait(false);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancel = default)
    {
        while (data.Length > 0)
        {
            cancel.ThrowIfCancellationRequested();
            var e = TrySendStream(data.Span, Linux.MSG_DONTWAIT, out int n);
            data = data[n..];
            if (data.Length == 0) return;
            if (e != Errno.Ok && e != Errno.EAGAIN) Check(e);
            await WaitAsync(WaitFor.Writable, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>A .NET <see cref="System.IO.Stream"/> over this connected stream socket; disposing it closes the socket.</summary>
    public UserStream GetStream() => stream is not null ? new UserStream(this) : throw new InvalidOperationException("only stream sockets have a Stream");

    /// <summary>
    /// The socket as an <see cref="System.IO.Pipelines.IDuplexPipe"/> built on its own buffers: the
    /// reader hands out the receive buffer in place (no copy; the window opens as it advances), the
    /// writer sends into the send buffer and its flush waits for room; completing the writer sends
    /// FIN (shutdown of writing).
    /// </summary>
    public System.IO.Pipelines.IDuplexPipe GetPipe() => stream is not null ? new SocketPipe(this) : throw new InvalidOperationException("only stream sockets have a pipe");

    // ---- what the pipe reads in place --------------------------------------------------------

    /// <summary>
    /// The received bytes in place (see <see cref="IStreamEndpoint.PeekReceived"/>); <paramref name="ended"/> when no more will come;
    /// <paramref name="urgentAt"/> the offset of the urgent byte among them (-1: none) and <paramref name="urgentInline"/> SO_OOBINLINE.
    /// </summary>
    internal int PeekReceived(out ReadOnlyMemory<byte> first, out ReadOnlyMemory<byte> second, out bool ended, out Errno error, out int urgentAt, out bool urgentInline)
    {
        lock (host.Gate)
        {
            error = Errno.Ok;
            urgentAt = closed ? -1 : stream!.Connection.UrgentOffset;
            urgentInline = !closed && stream!.Connection.UrgentInline;
            first = second = ReadOnlyMemory<byte>.Empty;
            if (closed) { ended = true; error = Errno.EBADF; return 0; }
            int n = stream!.PeekReceived(out first, out second);
            ended = stream.ReceiveEnded;
            if (n == 0 && ended)
            {
                error = stream.TakeError();
                if (error == Errno.ENOTCONN && phase == ConnectPhase.Connected) error = Errno.Ok;
            }
            return n;
        }
    }

    internal void ConsumeReceived(int count)
    {
        if (count <= 0) return;
        lock (host.Gate) if (!closed) stream!.Consume(count, host.Now);
    }

    /// <summary>Waits until more than <paramref name="beyond"/> bytes are readable, or the stream ended.</summary>
    internal ValueTask WaitReceivedBeyondAsync(int beyond, CancellationToken cancel) => WaitAsync(WaitFor.ReceivedBeyond, cancel, beyond);

    /// <summary>Wakes this socket's waiters to look again (a pipe's CancelPendingRead).</summary>
    internal void WakeWaiters()
    {
        lock (host.Gate) Wake();
    }
}
