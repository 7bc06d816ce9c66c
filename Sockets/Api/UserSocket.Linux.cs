using UserStack.Tcp;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

/// <summary>
/// Socket options Linux keeps that our protocol core does not act on (or acts on elsewhere):
/// what setsockopt stored, so that getsockopt reports it back as Linux would.
/// </summary>
internal sealed class LinuxSocketOptions
{
    public bool Debug, DontRoute, OobInline, ReusePort, Cork, HeaderIncluded;
    public bool QuickAck = true;
    /// <summary>SO_KEEPALIVE and SO_BROADCAST on the kinds of socket whose core keeps no such flag.</summary>
    public bool KeepAlive, Broadcast;
    public int ReceiveLowWater = 1;
    public int UserTimeoutMilliseconds;
    /// <summary>SO_LINGER as set: l_onoff and l_linger (seconds).</summary>
    public int LingerSeconds;
    /// <summary>SO_SNDBUF / SO_RCVBUF as Linux reports them after a set (twice the value asked, clamped); null: report the buffer itself.</summary>
    public int? ReportedSendBuffer, ReportedReceiveBuffer;
    /// <summary>TCP_MAXSEG as set (0: none), for getsockopt before a connection.</summary>
    public int UserMss;

    public LinuxSocketOptions Clone() => (LinuxSocketOptions)MemberwiseClone();
}

// What the Linux face (BsdSockets) needs of a socket beyond the typed API: readiness as poll(2)
// reports it, SHUT_* on datagram sockets, and the state of options.
public sealed partial class UserSocket
{
    private bool readShut, writeShut; // shutdown() on a connected datagram socket

    internal LinuxSocketOptions Extras { get; private init; } = new();

    /// <summary>The host this socket lives on (its lock, its clock).</summary>
    internal Host.StackHost Host => host;

    internal TcpConnection? Connection => tcp;
    internal bool IsListening { get { lock (host.Gate) return tcp?.State == TcpState.Listen; } }

    /// <summary>
    /// Under the host lock: the poll(2) events that hold now, in Linux's numbers and by Linux's
    /// rules (tcp_poll for streams, datagram_poll for the others).
    /// </summary>
    internal int PollEventsLocked()
    {
        if (closed) return Linux.POLLNVAL;
        return tcp is not null ? StreamPollEvents(tcp) : DatagramPollEvents();
    }

    private int StreamPollEvents(TcpConnection c)
    {
        var state = c.State;
        // inet_csk_listen_poll: readable when a connection waits to be accepted, nothing else.
        if (state == TcpState.Listen) return c.CanAccept ? Linux.POLLIN | Linux.POLLRDNORM : 0;
        // tcp_done sets both shutdown bits when a connection ends (reset, refused, timed out, finished).
        bool ended = state == TcpState.Closed && c.Remote is not null;
        bool receiveShut = c.FinReceived || c.ReadShutdown || ended;
        bool sendShut = c.WriteShutdown || ended;
        int mask = 0;
        if ((receiveShut && sendShut) || state == TcpState.Closed) mask |= Linux.POLLHUP;
        if (receiveShut) mask |= Linux.POLLIN | Linux.POLLRDNORM | Linux.POLLRDHUP;
        if (state is not (TcpState.SynSent or TcpState.SynReceived))
        {
            if (c.Available > 0) mask |= Linux.POLLIN | Linux.POLLRDNORM;
            // __sk_stream_is_writeable: free space at least half of what is queued.
            if (sendShut || c.SendBufferCapacity - c.Unacknowledged >= c.Unacknowledged / 2) mask |= Linux.POLLOUT | Linux.POLLWRNORM;
        }
        if (c.PendingError != Errno.Ok) mask |= Linux.POLLERR;
        return mask;
    }

    private int DatagramPollEvents()
    {
        int mask = Linux.POLLOUT | Linux.POLLWRNORM | Linux.POLLWRBAND; // datagrams go at once: always writable
        var error = udp?.PendingError ?? raw!.PendingError;
        if (error != Errno.Ok) mask |= Linux.POLLERR;
        if (readShut) mask |= Linux.POLLIN | Linux.POLLRDNORM | Linux.POLLRDHUP;
        if (readShut && writeShut) mask |= Linux.POLLHUP;
        if ((udp?.QueuedDatagrams ?? raw!.QueuedDatagrams) > 0) mask |= Linux.POLLIN | Linux.POLLRDNORM;
        return mask;
    }

    /// <summary>SO_SNDBUF / SO_RCVBUF in bytes of data: always for datagram sockets; for TCP only before the connection starts (false then).</summary>
    internal bool TrySetBufferSize(bool receive, int bytes)
    {
        lock (host.Gate)
        {
            if (tcp is not null) return receive ? tcp.TryResizeBuffers(null, bytes) : tcp.TryResizeBuffers(bytes, null);
            if (receive) { if (udp is not null) udp.ReceiveBufferSize = bytes; else raw!.ReceiveBufferSize = bytes; }
            else { if (udp is not null) udp.SendBufferSize = bytes; else raw!.SendBufferSize = bytes; }
            return true;
        }
    }

    /// <summary>IP_TOS of outgoing IPv4 headers.</summary>
    internal byte TypeOfService
    {
        get { lock (host.Gate) return tcp?.TypeOfService ?? udp?.TypeOfService ?? raw!.TypeOfService; }
        set { lock (host.Gate) { if (tcp is not null) tcp.TypeOfService = value; else if (udp is not null) udp.TypeOfService = value; else raw!.TypeOfService = value; } }
    }

    /// <summary>Bytes sent and not yet acknowledged plus bytes not yet sent (SIOCOUTQ, Linux's write_seq - snd_una); 0 for datagrams, which leave at once.</summary>
    internal int OutputQueued { get { lock (host.Gate) return tcp?.Unacknowledged ?? 0; } }

    /// <summary>The IPv4 MTU of the host (TCP_INFO's tcpi_pmtu).</summary>
    internal int Mtu => host.Stack.Ipv4.Mtu;
}
