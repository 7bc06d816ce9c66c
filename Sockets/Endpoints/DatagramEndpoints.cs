using UserStack.Raw;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Udp;

namespace UserStack.Sockets.Endpoints;

/// <summary>What UDP and raw endpoints share: shutdown remembered as flags, and datagram_poll.</summary>
internal abstract class DatagramEndpoint(StackHost host) : IDatagramEndpoint
{
    protected StackHost Host { get; } = host;
    private Action? signal;
    public Action? Signal { set { signal = value; SetCoreSignal(value); } }
    protected abstract void SetCoreSignal(Action? value);

    public bool ReadShut { get; private set; }
    public bool WriteShut { get; private set; }
    public abstract bool IsConnected { get; }
    public virtual bool RefusesOutOfBand => false;

    public abstract Errno Bind(Endpoint local);
    public abstract Endpoint LocalEndpoint { get; }
    public abstract Errno GetPeer(out Endpoint remote);
    public abstract Errno Connect(Endpoint remote);
    public abstract Errno Send(ReadOnlySpan<byte> data, Endpoint? to, Instant now, bool headerIncluded);
    public abstract Errno Receive(Span<byte> buffer, bool peek, out int copied, out int fullLength, out Endpoint from);

    public abstract bool IsReadable { get; }
    public bool IsWritable => true; // datagrams leave at once
    public abstract Errno PendingError { get; }
    public abstract Errno TakeError();
    protected abstract int QueuedDatagrams { get; }
    public abstract int Available { get; }
    public int OutputQueued => 0;
    public abstract long ReceiveBufferDrops { get; }

    public virtual bool ReuseAddress { get => false; set { } }
    public abstract bool Broadcast { get; set; }
    public abstract int ReceiveBufferSize { get; }
    public abstract int SendBufferSize { get; }
    public abstract bool TrySetBufferSize(bool receive, int bytes);
    public abstract byte TimeToLive { get; set; }
    public abstract byte TypeOfService { get; set; }

    /// <summary>datagram_poll: always writable; readable with a datagram queued or reads shut.</summary>
    public int PollEvents
    {
        get
        {
            int mask = Linux.POLLOUT | Linux.POLLWRNORM | Linux.POLLWRBAND;
            if (PendingError != Errno.Ok) mask |= Linux.POLLERR;
            if (ReadShut) mask |= Linux.POLLIN | Linux.POLLRDNORM | Linux.POLLRDHUP;
            if (ReadShut && WriteShut) mask |= Linux.POLLHUP;
            if (QueuedDatagrams > 0) mask |= Linux.POLLIN | Linux.POLLRDNORM;
            return mask;
        }
    }

    /// <summary>A connected datagram socket remembers it: reads then return 0, sends EPIPE (ENOTCONN when unconnected).</summary>
    public Errno Shutdown(bool read, bool write, Instant now)
    {
        if (!IsConnected) return Errno.ENOTCONN;
        ReadShut |= read;
        WriteShut |= write;
        signal?.Invoke();
        return Errno.Ok;
    }

    public abstract void Close(Instant now, bool abort);
}

internal sealed class UdpEndpoint(StackHost host, UdpSocket u) : DatagramEndpoint(host)
{
    protected override void SetCoreSignal(Action? value) => u.Signal = value;
    public override bool IsConnected => u.Remote is not null;
    public override Errno Bind(Endpoint local) => Host.Stack.Udp.Bind(u, local);
    public override Endpoint LocalEndpoint => u.Local;

    public override Errno GetPeer(out Endpoint remote)
    {
        remote = u.Remote ?? default;
        return u.Remote is null ? Errno.ENOTCONN : Errno.Ok;
    }

    public override Errno Connect(Endpoint remote) => Host.Stack.Udp.Connect(u, remote);
    public override Errno Send(ReadOnlySpan<byte> data, Endpoint? to, Instant now, bool headerIncluded) => Host.Stack.Udp.Send(u, data, to, now);
    public override Errno Receive(Span<byte> buffer, bool peek, out int copied, out int fullLength, out Endpoint from) => u.TryReceive(buffer, peek, out copied, out fullLength, out from);

    public override bool IsReadable => u.IsReadable;
    public override Errno PendingError => u.PendingError;
    public override Errno TakeError() => u.TakeError();
    protected override int QueuedDatagrams => u.QueuedDatagrams;
    public override int Available => u.NextDatagramLength;
    public override long ReceiveBufferDrops => u.ReceiveBufferDrops;
    public override bool ReuseAddress { get => u.ReuseAddress; set => u.ReuseAddress = value; }
    public override bool Broadcast { get => u.Broadcast; set => u.Broadcast = value; }
    public override int ReceiveBufferSize => u.ReceiveBufferSize;
    public override int SendBufferSize => u.SendBufferSize;

    public override bool TrySetBufferSize(bool receive, int bytes)
    {
        if (receive) u.ReceiveBufferSize = bytes; else u.SendBufferSize = bytes;
        return true;
    }

    public override byte TimeToLive { get => u.TimeToLive; set => u.TimeToLive = value; }
    public override byte TypeOfService { get => u.TypeOfService; set => u.TypeOfService = value; }
    public override void Close(Instant now, bool abort) => Host.Stack.Udp.Close(u);
    public override string ToString() => u.ToString();
}

/// <summary>A raw IPv4 socket: the port of an address is ignored, IP_HDRINCL sends the caller's header.</summary>
internal sealed class RawEndpoint(StackHost host, RawSocket r) : DatagramEndpoint(host)
{
    protected override void SetCoreSignal(Action? value) => r.Signal = value;
    public override bool IsConnected => r.RemoteAddress is not null;
    public override bool RefusesOutOfBand => true; // raw_recvmsg: EOPNOTSUPP
    public override Errno Bind(Endpoint local) => Host.Stack.Raw.Bind(r, local.Address);
    public override Endpoint LocalEndpoint => new(r.LocalAddress, 0);

    public override Errno GetPeer(out Endpoint remote)
    {
        remote = r.RemoteAddress is { } a ? new Endpoint(a, 0) : default;
        return r.RemoteAddress is null ? Errno.ENOTCONN : Errno.Ok;
    }

    public override Errno Connect(Endpoint remote) => Host.Stack.Raw.Connect(r, remote.Address);

    public override Errno Send(ReadOnlySpan<byte> data, Endpoint? to, Instant now, bool headerIncluded) => headerIncluded
        ? Host.Stack.Raw.SendHeaderIncluded(r, data, to?.Address, now)
        : Host.Stack.Raw.Send(r, data, to?.Address, now);

    public override Errno Receive(Span<byte> buffer, bool peek, out int copied, out int fullLength, out Endpoint from) => r.TryReceive(buffer, peek, out copied, out fullLength, out from);

    public override bool IsReadable => r.IsReadable || r.PendingError != Errno.Ok;
    public override Errno PendingError => r.PendingError;
    public override Errno TakeError() => r.TakeError();
    protected override int QueuedDatagrams => r.QueuedDatagrams;
    public override int Available => r.NextDatagramLength;
    public override long ReceiveBufferDrops => r.ReceiveBufferDrops;
    public override bool Broadcast { get => r.Broadcast; set => r.Broadcast = value; }
    public override int ReceiveBufferSize => r.ReceiveBufferSize;
    public override int SendBufferSize => r.SendBufferSize;

    public override bool TrySetBufferSize(bool receive, int bytes)
    {
        if (receive) r.ReceiveBufferSize = bytes; else r.SendBufferSize = bytes;
        return true;
    }

    public override byte TimeToLive { get => r.TimeToLive; set => r.TimeToLive = value; }
    public override byte TypeOfService { get => r.TypeOfService; set => r.TypeOfService = value; }
    public override void Close(Instant now, bool abort) => Host.Stack.Raw.Close(r);
    public override string ToString() => r.ToString();
}
