using UserStack.Tcp;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

// The IPPROTO_TCP options and SO_KEEPALIVE of a stream socket: TCP_NODELAY, TCP_KEEPIDLE,
// TCP_KEEPINTVL, TCP_KEEPCNT, TCP_CONGESTION, TCP_MAXSEG and TCP_INFO, as Linux offers them.
public sealed partial class UserSocket
{
    /// <summary>TCP_NODELAY: no Nagle delay for small segments (RFC 1122 4.2.3.4).</summary>
    public bool NoDelay
    {
        get { lock (host.Gate) return tcp?.NoDelay ?? false; }
        set
        {
            lock (host.Gate)
            {
                if (tcp is null) return;
                tcp.NoDelay = value;
                if (value && tcp.State.IsSynchronized()) tcp.Output(host.Now); // what Nagle held goes now, as in Linux
                host.Reschedule();
            }
        }
    }

    /// <summary>SO_KEEPALIVE (RFC 1122 4.2.3.6).</summary>
    public bool KeepAlive
    {
        get { lock (host.Gate) return tcp?.KeepAlive ?? false; }
        set { lock (host.Gate) { tcp?.SetKeepAlive(value, host.Now); host.Reschedule(); } }
    }

    /// <summary>TCP_KEEPIDLE, TCP_KEEPINTVL (seconds, 1 to 32767 as Linux) and TCP_KEEPCNT (1 to 127).</summary>
    public Errno SetKeepAliveTimes(int? idleSeconds = null, int? intervalSeconds = null, int? count = null)
    {
        if (idleSeconds is < 1 or > 32767 || intervalSeconds is < 1 or > 32767 || count is < 1 or > 127) return Errno.EINVAL;
        lock (host.Gate)
        {
            if (tcp is null) return Errno.ENOPROTOOPT;
            if (idleSeconds is { } idle) tcp.KeepAliveIdle = TimeSpan.FromSeconds(idle);
            if (intervalSeconds is { } interval) tcp.KeepAliveInterval = TimeSpan.FromSeconds(interval);
            if (count is { } c) tcp.KeepAliveCount = c;
            if (tcp.KeepAlive) tcp.SetKeepAlive(true, host.Now);
            host.Reschedule();
        }
        return Errno.Ok;
    }

    public (int IdleSeconds, int IntervalSeconds, int Count) KeepAliveTimes
    {
        get { lock (host.Gate) return tcp is null ? default : ((int)tcp.KeepAliveIdle.TotalSeconds, (int)tcp.KeepAliveInterval.TotalSeconds, tcp.KeepAliveCount); }
    }

    /// <summary>TCP_CONGESTION: "cubic" or "newreno"; ENOENT for an unknown name, as Linux.</summary>
    public Errno SetCongestionControl(string name)
    {
        lock (host.Gate)
        {
            if (tcp is null) return Errno.ENOPROTOOPT;
            return tcp.SetCongestionControl(name) ? Errno.Ok : Errno.ENOENT;
        }
    }

    public string? CongestionControl { get { lock (host.Gate) return tcp?.CongestionControl; } }

    /// <summary>TCP_MAXSEG: the effective send MSS once connected, else our own MSS.</summary>
    public int MaximumSegmentSize { get { lock (host.Gate) return tcp is null ? 0 : tcp.State.IsSynchronized() ? tcp.SendMss : host.Stack.Tcp.OurMss; } }

    /// <summary>TCP_INFO: state, RTO, SRTT, RTTVAR, cwnd, ssthresh, retransmits and the negotiated options.</summary>
    public TcpInfo? TcpInfo { get { lock (host.Gate) return tcp?.Info; } }

    /// <summary>TCP_MAXSEG set: caps the MSS our SYN announces and sends with; taken before the connection starts (later it is only remembered, as Linux's mss_cache keeps its value).</summary>
    internal void SetUserMss(int? mss)
    {
        lock (host.Gate)
        {
            if (tcp is not null && tcp.State is TcpState.Closed or TcpState.Listen && tcp.Remote is null) tcp.UserMss = mss;
        }
    }

    /// <summary>TCP_MAXSEG as Linux's getsockopt: the send MSS once the handshake began, else the MSS set (or 536, TCP_MSS_DEFAULT).</summary>
    internal int LinuxMaximumSegmentSize(int userMss)
    {
        lock (host.Gate)
        {
            if (tcp is null) return 0;
            if (tcp.State is TcpState.Closed or TcpState.Listen && tcp.Remote is null) return userMss != 0 ? userMss : BsdSockets.DefaultMss;
            return tcp.SendMss;
        }
    }
}
