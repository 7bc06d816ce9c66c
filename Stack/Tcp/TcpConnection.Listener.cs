using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tcp;

// A listener (RFC 9293 3.10.1 passive OPEN), its accept queue, and what its children take from it
// (a SYN makes a SynReceivedRecord first: TcpLayer.HalfOpen.cs).
public sealed partial class TcpConnection
{
    // Listener state.
    public int Backlog { get; private set; }
    internal TcpConnection? Parent { get; set; }
    private Queue<TcpConnection>? acceptQueue; // a listener's, made at its first established child
    public int AcceptQueueLength => acceptQueue?.Count ?? 0;

    /// <summary>OPEN, passive (RFC 9293 3.10.1): LISTEN with a bounded backlog.</summary>
    internal void Listen(int backlog, Instant now)
    {
        Backlog = Math.Clamp(backlog, 1, 4096);
        SetState(TcpState.Listen, now);
    }

    /// <summary>A child takes its listener's socket options, as accept() in Linux hands them down.</summary>
    internal void InheritFrom(TcpConnection listener)
    {
        NoDelay = listener.NoDelay;
        keepAlive = listener.keepAlive;
        KeepAliveIdle = listener.KeepAliveIdle;
        KeepAliveInterval = listener.KeepAliveInterval;
        KeepAliveCount = listener.KeepAliveCount;
        SetCongestionControl(listener.CongestionControl);
        UserMss = listener.UserMss;
        TypeOfService = listener.TypeOfService;
        TimeToLive = listener.TimeToLive;
        UrgentInline = listener.UrgentInline;
        sender.Buffer.TryResize(listener.SendBufferCapacity);
        receiver.Buffer.TryResize(listener.ReceiveBufferCapacity);
    }

    public bool CanAccept => AcceptQueueLength > 0;

    public TcpConnection? TakeAccepted() => acceptQueue is not null && acceptQueue.TryDequeue(out var c) ? c : null;
}
