using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// TIME-WAIT of a connection whose socket is closed (RFC 9293 3.10.7.4, 3.10.8), as a small record
/// in place of the whole connection, as Linux's inet_timewait_sock: the 4-tuple, SND.NXT and
/// RCV.NXT, the window we advertise, the timestamp state that PAWS and the ACKs need, the 2 MSL
/// deadline. No buffers, no sender or receiver, nothing of the socket. TcpLayer.TimeWait.cs keeps
/// the records (in a port table of their own: the port stays in use) and their timer queue;
/// TimeWaitRecord.Arrival.cs answers segments as the connection in TIME-WAIT did.
/// </summary>
public sealed partial class TimeWaitRecord : IBoundEndpoint
{
    internal TimeWaitRecord(Endpoint local, Endpoint remote, bool reuseAddress)
    {
        Local = local;
        RemoteEndpoint = remote;
        ReuseAddress = reuseAddress;
    }

    /// <summary>Always a specific address (the one the connection sent from), so the record is found by its 4-tuple.</summary>
    public Endpoint Local { get; }
    public Endpoint RemoteEndpoint { get; }
    Endpoint? IBoundEndpoint.Remote => RemoteEndpoint;
    public bool ReuseAddress { get; }
    public TcpState State => TcpState.TimeWait;

    public SeqNumber SendNext { get; internal init; }       // SND.NXT (= SND.UNA: our FIN was acknowledged)
    public SeqNumber ReceiveNext { get; internal init; }    // RCV.NXT (past the peer's FIN)
    /// <summary>RCV.WND as last advertised (the acceptability test) and the window field our ACKs carry.</summary>
    public int ReceiveWindow { get; internal init; }
    internal ushort WindowField { get; init; }
    /// <summary>The largest window the peer offered (RFC 5961 5.2's MAX.SND.WND).</summary>
    internal int MaxSendWindow { get; init; }
    internal bool TimestampsEnabled { get; init; }
    internal uint TimestampOffset { get; init; }
    /// <summary>TS.Recent and when it was taken (RFC 7323 4.3, 5.5).</summary>
    internal uint TimestampRecent;
    internal Instant TimestampRecentAt;
    internal byte TypeOfService { get; init; }
    internal byte TimeToLive { get; init; }
    internal Instant? LastOutOfWindowAck;

    /// <summary>When 2 MSL runs out; restarted by segments (RFC 9293 3.10.7.4, as Linux).</summary>
    public Instant Deadline { get; internal set; }
    /// <summary>Where the record is queued in the layer's TIME-WAIT timer queue (MaxValue: not queued).</summary>
    internal Instant QueuedAt = Instant.MaxValue;
    /// <summary>Left TIME-WAIT (expired, reset, reopened): out of the table; a queued entry is stale.</summary>
    internal bool Ended;
    /// <summary>
    /// The connection this record replaced, weakly: the stack does not keep it alive, but whoever
    /// still holds the object (an application's reference, a lab, a test) sees it reach CLOSED.
    /// </summary>
    internal WeakReference<TcpConnection>? Replaced;

    /// <summary>Our TSval clock, continued from the connection's (RFC 7323 5.4).</summary>
    internal uint TimestampNow(Instant now) => unchecked((uint)now.Milliseconds + TimestampOffset);

    public override string ToString() => $"tcp {Local} -> {RemoteEndpoint} TimeWait (record)";
}
