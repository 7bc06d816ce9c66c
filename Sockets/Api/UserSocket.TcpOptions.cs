using UserStack.Tcp;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

// The IPPROTO_TCP options and SO_KEEPALIVE of a stream socket: TCP_NODELAY, TCP_KEEPIDLE,
// TCP_KEEPINTVL, TCP_KEEPCNT, TCP_CONGESTION, TCP_MAXSEG and TCP_INFO, as Linux offers them.
public sealed partial class UserSocket
{
    private TcpConnection? connection => stream?.Connection;

    /// <summary>TCP_NODELAY: no Nagle delay for small segments (RFC 1122 4.2.3.4).</summary>
    public bool NoDelay
    {
        get { lock (host.Gate) return connection?.NoDelay ?? false; }
        set
        {
            lock (host.Gate)
            {
                if (connection is null) return;
                connection.NoDelay = value;
                if (value && connection.State.IsSynchronized()) connection.Output(host.Now); // what Nagle held goes now, as in Linux
                host.Reschedule();
            }
        }
    }

    /// <summary>SO_KEEPALIVE (RFC 1122 4.2.3.6).</summary>
    public bool KeepAlive
    {
        get { lock (host.Gate) return connection?.KeepAlive ?? false; }
        set { lock (host.Gate) { connection?.SetKeepAlive(value, host.Now); host.Reschedule(); } }
    }

    /// <summary>TCP_KEEPIDLE, TCP_KEEPINTVL (seconds, 1 to 32767 as Linux) and TCP_KEEPCNT (1 to 127).</summary>
    public Errno SetKeepAliveTimes(int? idleSeconds = null, int? intervalSeconds = null, int? count = null)
    {
        if (idleSeconds is < 1 or > 32767 || intervalSeconds is < 1 or > 32767 || count is < 1 or > 127) return Errno.EINVAL;
        lock (host.Gate)
        {
            if (connection is null) return Errno.ENOPROTOOPT;
            if (idleSeconds is { } idle) connection.KeepAliveIdle = TimeSpan.FromSeconds(idle);
            if (intervalSeconds is { } interval) connection.KeepAliveInterval = TimeSpan.FromSeconds(interval);
            if (count is { } c) connection.KeepAliveCount = c;
            if (connection.KeepAlive) connection.SetKeepAlive(true, host.Now);
            host.Reschedule();
        }
        return Errno.Ok;
    }

    public (int IdleSeconds, int IntervalSeconds, int Count) KeepAliveTimes
    {
        get { lock (host.Gate) return connection is null ? default : ((int)connection.KeepAliveIdle.TotalSeconds, (int)connection.KeepAliveInterval.TotalSeconds, connection.KeepAliveCount); }
    }

    /// <summary>TCP_CONGESTION: "cubic" or "newreno"; ENOENT for an unknown name, as Linux.</summary>
    public Errno SetCongestionControl(string name)
    {
        lock (host.Gate)
        {
            if (connection is null) return Errno.ENOPROTOOPT;
            return connection.SetCongestionControl(name) ? Errno.Ok : Errno.ENOENT;
        }
    }

    public string? CongestionControl { get { lock (host.Gate) return connection?.CongestionControl; } }

    /// <summary>TCP_MAXSEG: the effective send MSS once connected, else our own MSS.</summary>
    public int MaximumSegmentSize { get { lock (host.Gate) return connection is null ? 0 : connection.State.IsSynchronized() ? connection.SendMss : host.Stack.Tcp.OurMss; } }

    /// <summary>TCP_INFO: state, RTO, SRTT, RTTVAR, cwnd, ssthresh, retransmits and the negotiated options.</summary>
    public TcpInfo? TcpInfo { get { lock (host.Gate) return connection?.Info; } }

    /// <summary>TCP_MAXSEG set: caps the MSS our SYN announces and sends with; taken before the connection starts (later it is only remembered, as Linux's mss_cache keeps its value).</summary>
    internal void SetUserMss(int? mss)
    {
        lock (host.Gate)
        {
            if (connection is not null && connection.State is TcpState.Closed or TcpState.Listen && connection.Remote is null) connection.UserMss = mss;
        }
    }

    /// <summary>TCP_MAXSEG as Linux's getsockopt: the send MSS once the handshake began, else the MSS set (or 536, TCP_MSS_DEFAULT).</summary>
    internal int LinuxMaximumSegmentSize(int userMss)
    {
        lock (host.Gate)
        {
            if (connection is null) return 0;
            if (connection.State is TcpState.Closed or TcpState.Listen && connection.Remote is null) return userMss != 0 ? userMss : BsdSockets.DefaultMss;
            return connection.SendMss;
        }
    }
}
