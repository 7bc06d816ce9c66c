using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Tcp;
using UserStack.Time;
using UserStack.Transport;

namespace UserStack.Sockets.Endpoints;

/// <summary>A stream socket's endpoint: one TCP connection (or listener) of the host's core.</summary>
internal sealed class TcpEndpoint(StackHost host, TcpConnection c) : IStreamEndpoint
{
    public TcpConnection Connection => c;
    public Action? Signal { set => c.Signal = value; }

    public Errno Bind(Endpoint local) => host.Stack.Tcp.Bind(c, local);
    public Endpoint LocalEndpoint => c.Local;

    public Errno GetPeer(out Endpoint remote)
    {
        remote = default;
        if (c.Remote is not { } r || c.State is TcpState.Closed or TcpState.Listen or TcpState.SynSent) return Errno.ENOTCONN;
        remote = r;
        return Errno.Ok;
    }

    public TcpState State => c.State;
    public bool IsListening => c.State == TcpState.Listen;
    public bool IsConnecting => c.IsConnecting;
    public bool IsConnected => c.State is not (TcpState.Closed or TcpState.Listen or TcpState.SynSent or TcpState.SynReceived);
    public bool CanAccept => c.CanAccept;
    public bool ReceiveEnded => c.FinReceived || c.ReadShutdown || c.PendingError != Errno.Ok || c.State == TcpState.Closed;

    public bool IsReadable => c.IsReadable;
    public bool IsWritable => c.IsWritable && !c.IsConnecting;
    public Errno PendingError => c.PendingError;
    public Errno TakeError() => c.TakeError();
    public Errno TakeSocketError() => c.TakeSocketError();
    public int Available => c.Available;
    public int OutputQueued => c.Unacknowledged;
    public long ReceiveBufferDrops => 0;

    public bool ReuseAddress { get => c.ReuseAddress; set => c.ReuseAddress = value; }
    public bool Broadcast { get => false; set { } } // SO_BROADCAST means nothing to TCP (the Linux face stores it)
    public int ReceiveBufferSize => c.ReceiveBufferCapacity;
    public int SendBufferSize => c.SendBufferCapacity;
    public bool TrySetBufferSize(bool receive, int bytes) => receive ? c.TryResizeBuffers(null, bytes) : c.TryResizeBuffers(bytes, null);
    public byte TimeToLive { get => c.TimeToLive; set => c.TimeToLive = value; }
    public byte TypeOfService { get => c.TypeOfService; set => c.TypeOfService = value; }

    /// <summary>tcp_poll: listeners are readable with a connection to accept; otherwise data, FIN, room, errors, an urgent byte (POLLPRI).</summary>
    public int PollEvents
    {
        get
        {
            var state = c.State;
            if (state == TcpState.Listen) return c.CanAccept ? Linux.POLLIN | Linux.POLLRDNORM : 0; // inet_csk_listen_poll
            // tcp_done sets both shutdown bits when a connection ends (reset, refused, timed out, finished).
            bool ended = state == TcpState.Closed && c.Remote is not null;
            bool receiveShut = c.FinReceived || c.ReadShutdown || ended;
            bool sendShut = c.WriteShutdown || ended;
            int mask = 0;
            if ((receiveShut && sendShut) || state == TcpState.Closed) mask |= Linux.POLLHUP;
            if (receiveShut) mask |= Linux.POLLIN | Linux.POLLRDNORM | Linux.POLLRDHUP;
            if (state is not (TcpState.SynSent or TcpState.SynReceived))
            {
                if (c.ReadableInBand > 0) mask |= Linux.POLLIN | Linux.POLLRDNORM; // tcp_poll: the out-of-band byte at the mark does not count
                if (c.UrgentByteWaiting) mask |= Linux.POLLPRI;
                // __sk_stream_is_writeable: free space at least half of what is queued.
                if (sendShut || c.SendBufferCapacity - c.Unacknowledged >= c.Unacknowledged / 2) mask |= Linux.POLLOUT | Linux.POLLWRNORM;
            }
            if (c.PendingError != Errno.Ok) mask |= Linux.POLLERR;
            return mask;
        }
    }

    public Errno Listen(int backlog, Instant now)
    {
        var e = host.Stack.Tcp.Listen(c, backlog, now);
        host.Reschedule();
        return e;
    }

    public Errno Connect(Endpoint remote, Instant now)
    {
        var e = host.Stack.Tcp.Connect(c, remote, now);
        host.Reschedule();
        return e;
    }

    public IStreamEndpoint? Accept() => c.TakeAccepted() is { } child ? new TcpEndpoint(host, child) : null;

    public int Send(ReadOnlySpan<byte> data, Instant now, out Errno error, bool urgent = false)
    {
        int n = c.Send(data, now, out error, urgent);
        host.Reschedule();
        return n;
    }

    public int Receive(Span<byte> destination, bool peek, Instant now, out Errno error)
    {
        int n = c.Receive(destination, peek, now, out error);
        host.Reschedule();
        return n;
    }

    public int PeekReceived(out ReadOnlyMemory<byte> first, out ReadOnlyMemory<byte> second) => c.PeekReceived(out first, out second);

    public void Consume(int count, Instant now)
    {
        c.ConsumeReceived(count, now);
        host.Reschedule();
    }

    /// <remarks>
    /// As Linux's inet_shutdown: ENOTCONN on a stream socket that is not connected (CLOSED), the read side still shut; on a
    /// listener SHUT_RD stops listening and SHUT_WR does nothing; in SYN-SENT the attempt ends.
    /// </remarks>
    public Errno Shutdown(bool read, bool write, Instant now)
    {
        switch (c.State)
        {
            case TcpState.Closed:
                // inet_shutdown records the shutdown even here (so poll reports it and read returns 0), then says ENOTCONN.
                if (read) c.ShutdownRead();
                host.Reschedule();
                return Errno.ENOTCONN;
            case TcpState.Listen:
                if (read) host.Stack.Tcp.Close(c, now);
                break;
            case TcpState.SynSent:
                c.ShutdownWrite(now); // ends the attempt (RFC 9293 3.10.4 in SYN-SENT)
                break;
            default:
                if (read) c.ShutdownRead();
                if (write) c.ShutdownWrite(now);
                break;
        }
        host.Reschedule();
        return Errno.Ok;
    }

    public void Close(Instant now, bool abort)
    {
        if (abort && c.State != TcpState.Listen) c.Abort(now, Errno.Ok); // SO_LINGER 0: RST, and the connection is gone
        else host.Stack.Tcp.Close(c, now);
        host.Reschedule();
    }

    public override string ToString() => c.ToString();
}
