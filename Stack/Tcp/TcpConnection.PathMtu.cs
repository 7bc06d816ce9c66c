using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;

namespace UserStack.Tcp;

/// <summary>Path MTU discovery (RFC 1191 6.3, RFC 5927) and ICMP soft errors (RFC 1122 4.2.3.9), as Linux's tcp_v4_err.</summary>
public sealed partial class TcpConnection
{
    /// <summary>The lowest path MTU believed (Linux ip_rt_min_pmtu = 512 + 20 + 20).</summary>
    public const int MinimumPathMtu = 552;

    private int pathMtu;

    /// <summary>RFC 1191: the path MTU, the link's until a "fragmentation needed" lowers it.</summary>
    public int PathMtu => pathMtu == 0 ? layer.MssFor(Remote) + 40 : pathMtu;
    /// <summary>The most a segment may carry on the path (no IP options: 40 bytes of headers).</summary>
    internal int PathMss => PathMtu - 40;
    /// <summary>The last ICMP error that did not end the connection (Linux's sk_err_soft): SO_ERROR reports it, and a timeout does.</summary>
    public Errno SoftError { get; private set; }
    /// <summary>A Next-Hop MTU under the floor was heard: the path MTU stays at 552 and segments go without DF (Linux's locked RTAX_MTU).</summary>
    public bool PathMtuLocked { get; private set; }

    /// <summary>SO_ERROR (Linux sock_getsockopt): the pending error, else the soft error; either is cleared.</summary>
    public Errno TakeSocketError()
    {
        var e = TakeError();
        if (e != Errno.Ok) return e;
        (e, SoftError) = (SoftError, Errno.Ok);
        return e;
    }

    internal void NoteSoftError(Errno error)
    {
        if (error == Errno.Ok) return;
        layer.Counters.Increment(Counter.IcmpErrorsToSockets);
        SoftError = error;
    }

    /// <summary>
    /// Linux tcp_v4_mtu_reduced: a "fragmentation needed" whose quote passed the RFC 5927 check lowers
    /// the path MTU (never below 552, as Linux's __ip_rt_update_pmtu; a missing Next-Hop MTU counts as 0),
    /// the MSS follows (RFC 1191 6.3), and what is in flight is sent again in the new size
    /// (tcp_simple_retransmit). A value that does not lower it is ignored. A value under the floor
    /// also locks the path MTU, and Linux then sends without DF (ip_dont_fragment), so do we.
    /// </summary>
    internal void ReducePathMtu(int nextHopMtu, Instant now)
    {
        if (State is TcpState.Listen or TcpState.Closed) return;
        int mtu = nextHopMtu < MinimumPathMtu ? Math.Min(PathMtu, MinimumPathMtu) : nextHopMtu;
        if (nextHopMtu < MinimumPathMtu) PathMtuLocked = true;
        if (mtu >= PathMtu) return;
        int before = sender.Mss;
        pathMtu = mtu;
        layer.Counters.Increment(Counter.TcpPathMtuReductions);
        sender.Congestion.SetMss(sender.Mss);
        layer.TraceCongestion(this, $"path MTU {mtu}: MSS {before} -> {sender.Mss}", now);
        if (sender.Mss < before && State.IsSynchronized()) sender.RetransmitInSmallerSegments(now);
    }
}
