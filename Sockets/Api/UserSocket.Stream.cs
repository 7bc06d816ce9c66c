using System.Net.Sockets;
using UserStack.Tcp;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

// The stream (TCP) calls: listen, accept, connect, send, recv, shutdown, and their waits.
public sealed partial class UserSocket
{
    /// <summary>SO_LINGER: zero makes close() abort with RST; null is the graceful default.</summary>
    public TimeSpan? Linger { get; set; }

    /// <summary>The TCP state, for learners and the HTTP page; null for other sockets.</summary>
    public TcpState? State { get { lock (host.Gate) return tcp?.State; } }

    private bool IsStreamConnected => tcp is not null && tcp.State is not (TcpState.Closed or TcpState.Listen or TcpState.SynSent or TcpState.SynReceived);

    private long Deadline(TimeSpan? timeout) => timeout is { } t && t > TimeSpan.Zero ? Environment.TickCount64 + (long)t.TotalMilliseconds : long.MaxValue;

    /// <summary>Under the lock: waits for a pulse or the deadline; false when the deadline passed.</summary>
    private bool WaitLocked(long deadline)
    {
        long remaining = deadline - Environment.TickCount64;
        if (remaining <= 0) return false;
        host.WaitLocked(remaining >= int.MaxValue ? Timeout.Infinite : (int)remaining);
        return true;
    }

    public Errno TryListen(int backlog)
    {
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            if (tcp is null) return Errno.EOPNOTSUPP;
            var e = host.Stack.Tcp.Listen(tcp, backlog, host.Now);
            host.Reschedule();
            return e;
        }
    }

    /// <summary>accept(): the next established connection, waiting if the socket blocks.</summary>
    public Errno TryAccept(out UserSocket? accepted) => TryAccept(Blocking, out accepted);

    private Errno TryAccept(bool wait, out UserSocket? accepted)
    {
        accepted = null;
        if (tcp is null) return Errno.EOPNOTSUPP;
        long deadline = Deadline(ReceiveTimeout);
        lock (host.Gate)
        {
            while (true)
            {
                if (closed) return Errno.EBADF;
                if (tcp.State != TcpState.Listen) return Errno.EINVAL;
                if (tcp.TakeAccepted() is { } child)
                {
                    accepted = new UserSocket(host, SocketType.Stream, ProtocolType.Tcp, null, null, child);
                    return Errno.Ok;
                }
                if (!wait || !WaitLocked(deadline)) return Errno.EAGAIN;
            }
        }
    }

    /// <summary>connect() on a stream: blocking waits for the handshake; non-blocking answers EINPROGRESS.</summary>
    private Errno TryConnectStream(Endpoint remote, bool wait)
    {
        long deadline = Deadline(SendTimeout);
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            var e = host.Stack.Tcp.Connect(tcp!, remote, host.Now);
            host.Reschedule();
            if (e != Errno.Ok) return e;
            if (!wait) return Errno.EINPROGRESS;
            while (tcp!.IsConnecting)
                if (!WaitLocked(deadline)) return Errno.ETIMEDOUT;
            if (IsStreamConnected) return Errno.Ok;
            var error = tcp.TakeError();
            return error == Errno.Ok ? Errno.ECONNREFUSED : error;
        }
    }

    /// <summary>send() on a stream: blocking sends everything (waiting for buffer space), non-blocking what fits.</summary>
    private Errno TrySendStream(ReadOnlySpan<byte> data, SocketFlags flags, out int sent)
    {
        sent = 0;
        bool wait = Blocking && ((int)flags & BsdSockets.MSG_DONTWAIT) == 0;
        long deadline = Deadline(SendTimeout);
        lock (host.Gate)
        {
            while (true)
            {
                if (closed) return Errno.EBADF;
                if (tcp!.IsConnecting)
                {
                    if (!wait) return Errno.EAGAIN;
                    if (!WaitLocked(deadline)) return Errno.EAGAIN;
                    continue;
                }
                int n = tcp.Send(data[sent..], host.Now, out var e);
                host.Reschedule();
                sent += n;
                if (sent == data.Length) return Errno.Ok;
                if (e != Errno.Ok && e != Errno.EAGAIN) return sent > 0 ? Errno.Ok : e;
                if (!wait) return sent > 0 ? Errno.Ok : Errno.EAGAIN;
                if (!WaitLocked(deadline)) return sent > 0 ? Errno.Ok : Errno.EAGAIN;
            }
        }
    }

    /// <summary>recv() on a stream: what is there (at least one byte), 0 at end of stream.</summary>
    private Errno TryReceiveStream(Span<byte> buffer, SocketFlags flags, out int received)
    {
        received = 0;
        bool wait = Blocking && ((int)flags & BsdSockets.MSG_DONTWAIT) == 0;
        bool peek = (flags & SocketFlags.Peek) != 0;
        long deadline = Deadline(ReceiveTimeout);
        lock (host.Gate)
        {
            while (true)
            {
                if (closed) return Errno.EBADF;
                if (buffer.Length == 0) return Errno.Ok;
                received = tcp!.Receive(buffer, peek, host.Now, out var e);
                host.Reschedule();
                if (received > 0 || e == Errno.Ok) return Errno.Ok;
                if (e != Errno.EAGAIN) return e;
                if (!wait || !WaitLocked(deadline)) return Errno.EAGAIN;
            }
        }
    }

    /// <summary>shutdown(): stop reading, writing (our FIN), or both.</summary>
    public Errno TryShutdown(SocketShutdown how)
    {
        lock (host.Gate)
        {
            if (closed) return Errno.EBADF;
            if (tcp is null) return Errno.EOPNOTSUPP;
            if (!IsStreamConnected && tcp.State != TcpState.SynReceived) return Errno.ENOTCONN;
            if (how is SocketShutdown.Receive or SocketShutdown.Both) tcp.ShutdownRead();
            if (how is SocketShutdown.Send or SocketShutdown.Both) tcp.ShutdownWrite(host.Now);
            host.Reschedule();
            return Errno.Ok;
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

    /// <summary>Waits, without a thread, until <paramref name="ready"/> holds (checked under the lock) or the socket closes.</summary>
    private async ValueTask WaitAsync(Func<bool> ready, CancellationToken cancel)
    {
        TaskCompletionSource tcs;
        lock (host.Gate)
        {
            if (closed || ready()) return;
            tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add(tcs);
        }
        try { await tcs.Task.WaitAsync(cancel).ConfigureAwait(false); }
        finally { lock (host.Gate) waiters.Remove(tcs); }
    }

    public async ValueTask<UserSocket> AcceptAsync(CancellationToken cancel = default)
    {
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var e = TryAccept(wait: false, out var s);
            if (e == Errno.Ok) return s!;
            if (e != Errno.EAGAIN) Check(e);
            await WaitAsync(() => tcp!.CanAccept || tcp.State != TcpState.Listen, cancel).ConfigureAwait(false);
        }
    }

    public async ValueTask ConnectAsync(Endpoint remote, CancellationToken cancel = default)
    {
        var e = tcp is null ? TryConnect(remote) : TryConnectStream(remote, wait: false);
        if (e != Errno.EINPROGRESS) { Check(e); return; }
        await WaitAsync(() => !tcp!.IsConnecting, cancel).ConfigureAwait(false);
        lock (host.Gate)
        {
            if (IsStreamConnected) return;
            var error = tcp!.TakeError();
            Check(error == Errno.Ok ? Errno.ECONNREFUSED : error);
        }
    }

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancel = default)
    {
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            var e = TryReceiveStream(buffer.Span, (SocketFlags)BsdSockets.MSG_DONTWAIT, out int n);
            if (e == Errno.Ok) return n;
            if (e != Errno.EAGAIN) Check(e);
            await WaitAsync(() => tcp!.IsReadable, cancel).ConfigureAwait(false);
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancel = default)
    {
        while (data.Length > 0)
        {
            cancel.ThrowIfCancellationRequested();
            var e = TrySendStream(data.Span, (SocketFlags)BsdSockets.MSG_DONTWAIT, out int n);
            data = data[n..];
            if (data.Length == 0) return;
            if (e != Errno.Ok && e != Errno.EAGAIN) Check(e);
            await WaitAsync(() => tcp!.IsWritable && !tcp.IsConnecting, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>A .NET <see cref="System.IO.Stream"/> over this connected stream socket; disposing it closes the socket.</summary>
    public UserStream GetStream() => tcp is not null ? new UserStream(this) : throw new InvalidOperationException("only stream sockets have a Stream");

    /// <summary>The socket as an <see cref="System.IO.Pipelines.IDuplexPipe"/> (reader and writer over its stream).</summary>
    public System.IO.Pipelines.IDuplexPipe GetPipe() => new UserSocketPipe(GetStream());
}
