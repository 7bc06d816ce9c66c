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
// reports it and the state of options.
public sealed partial class UserSocket
{
    internal LinuxSocketOptions Extras { get; private init; } = new();

    /// <summary>The host this socket lives on (its lock, its clock).</summary>
    internal Host.StackHost Host => host;

    internal TcpConnection? Connection => stream?.Connection;
    internal bool IsListening { get { lock (host.Gate) return stream?.IsListening == true; } }

    /// <summary>SO_OOBINLINE (.NET's SocketOptionName.OutOfBandInline): on TCP the urgent byte stays in the stream.</summary>
    public bool OutOfBandInline { get { lock (host.Gate) return Extras.OobInline; } set => SetOobInline(value); }

    /// <summary>SO_OOBINLINE: stored, and on TCP the urgent byte then stays in the stream.</summary>
    internal void SetOobInline(bool on)
    {
        lock (host.Gate)
        {
            Extras.OobInline = on;
            if (stream is not null) stream.Connection.UrgentInline = on;
        }
    }

    /// <summary>SIOCATMARK: the next byte to read is the urgent mark (TCP only).</summary>
    internal bool AtUrgentMark { get { lock (host.Gate) return stream is not null && stream.Connection.AtUrgentMark; } }

    /// <summary>FIONREAD/SIOCINQ: on TCP the unread bytes up to an out-of-band urgent byte (tcp_inq).</summary>
    internal int UnreadForIoctl { get { lock (host.Gate) return stream is not null ? stream.Connection.UnreadBeforeMark : endpoint.Available; } }

    /// <summary>
    /// Under the host lock: the poll(2) events that hold now, in Linux's numbers and by Linux's
    /// rules (tcp_poll for streams, datagram_poll for the others).
    /// </summary>
    internal int PollEventsLocked() => closed ? Linux.POLLNVAL : endpoint.PollEvents;

    /// <summary>SO_SNDBUF / SO_RCVBUF in bytes of data: always for datagram sockets; for TCP only before the connection starts (false then).</summary>
    internal bool TrySetBufferSize(bool receive, int bytes)
    {
        lock (host.Gate) return endpoint.TrySetBufferSize(receive, bytes);
    }

    /// <summary>IP_TOS of outgoing IPv4 headers.</summary>
    internal byte TypeOfService
    {
        get { lock (host.Gate) return endpoint.TypeOfService; }
        set { lock (host.Gate) endpoint.TypeOfService = value; }
    }

    /// <summary>Bytes sent and not yet acknowledged plus bytes not yet sent (SIOCOUTQ, Linux's write_seq - snd_una); 0 for datagrams, which leave at once.</summary>
    internal int OutputQueued { get { lock (host.Gate) return endpoint.OutputQueued; } }

    /// <summary>The IPv4 MTU of the host (TCP_INFO's tcpi_pmtu).</summary>
    internal int Mtu => host.Stack.Ipv4.Mtu;
}
