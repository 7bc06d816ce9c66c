using UserStack.Time;

namespace UserStack.Tcp;

/// <summary>
/// A connection's place in the layer's timer queue. The queue holds handles, not connections, so
/// that a stale entry (a timer stopped or moved later) keeps nothing alive once the connection has
/// left the stack: a TIME-WAIT connection handed to its record drops its handle's reference.
/// </summary>
internal sealed class TimerHandle(TcpConnection connection)
{
    public TcpConnection? Connection = connection;
    /// <summary>The deadline this handle is queued at (MaxValue: not queued).</summary>
    public Instant QueuedAt = Instant.MaxValue;
}
