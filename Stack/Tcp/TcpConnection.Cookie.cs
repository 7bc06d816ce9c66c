using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tcp;

// A listener's SYN queue (its children in SYN-RECEIVED, counted, not searched) and the connection
// a valid SYN cookie makes on the third ACK (RFC 4987 3.6; TcpLayer.Cookies.cs).
public sealed partial class TcpConnection
{
    /// <summary>A listener's children in SYN-RECEIVED: its SYN queue (Linux's reqsk queue length).</summary>
    internal int HalfOpen { get; private set; }

    /// <summary>A listener: when its SYN queue last overflowed (cookies were sent); third ACKs are checked as cookies only for a while after.</summary>
    internal Instant? SynQueueOverflowedAt { get; set; }

    /// <summary>A record joined the listener's SYN queue (TcpLayer.HalfOpen.cs); it leaves it as its connection.</summary>
    internal void CountHalfOpenRecord() => HalfOpen++;

    /// <summary>Keeps the listener's SYN-queue count as a child enters or leaves SYN-RECEIVED (called by SetState).</summary>
    private void CountHalfOpen(TcpState from, TcpState to)
    {
        if (Parent is not { } parent) return;
        if (from == TcpState.SynReceived) parent.HalfOpen--;
        if (to == TcpState.SynReceived) parent.HalfOpen++;
    }

    /// <summary>
    /// The connection a valid cookie stands for, as if its SYN had been queued: SYN-RECEIVED with
    /// IRS = SEG.SEQ - 1, ISS = the cookie, the MSS the cookie encoded and, when the SYN had
    /// timestamps, the window scale and SACK-permitted from our echoed TSval. The caller then hands it
    /// the third ACK, which completes the handshake through the ordinary SYN-RECEIVED step.
    /// </summary>
    internal void AcceptCookie(TcpConnection parent, in TcpSegment ack, in TcpOptionsRepr ackOptions, SeqNumber iss, uint timestampOffset,
        int mss, int? peerWindowScale, bool sackPermitted, Instant now)
    {
        Parent = parent;
        this.timestampOffset = timestampOffset;
        receiver.Initial = ack.Sequence - 1;
        receiver.Next = ack.Sequence;
        sender.Start(iss);
        var timestamps = ackOptions.Timestamps is { } ts ? (ts.Value, 0u) : ((uint, uint)?)null;
        Negotiate(new TcpOptionsRepr((ushort)mss, peerWindowScale is int ws ? (byte)ws : null, sackPermitted, timestamps), now);
        receiver.AdvertisedEdge = receiver.Next;
        receiver.WindowField(syn: true, ReceiveMss); // the window our cookie SYN,ACK offered
        SetState(TcpState.SynReceived, now);
    }
}
