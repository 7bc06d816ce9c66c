using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tcp;

// A listener (RFC 9293 3.10.1 passive OPEN), its accept queue, and the children its SYNs make.
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

    /// <summary>A listener's child, made from the SYN that reached it (RFC 9293 3.10.7.2).</summary>
    internal void AcceptSyn(TcpConnection parent, in TcpSegment syn, SeqNumber iss, uint timestampOffset, Instant now)
    {
        Parent = parent;
        this.timestampOffset = timestampOffset;
        receiver.Initial = syn.Sequence;
        receiver.Next = syn.Sequence + 1;
        receiver.AdvertisedEdge = receiver.Next;
        sender.Start(iss);
        Negotiate(syn.Options, now);
        sender.SetWindow(syn.Window, syn.Sequence, syn.Acknowledgment, now); // RFC 7323 2.2: a SYN's window is never scaled
        // RFC 9293 3.10.7.2: text on the SYN is queued and delivered once the connection is established.
        if (syn.Payload.Length > 0) synText = syn.Payload[..Math.Min(syn.Payload.Length, receiver.Buffer.Capacity)].ToArray();
        SetState(TcpState.SynReceived, now);
        SendSyn(now);
        sender.StartSynTimer(now);
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
