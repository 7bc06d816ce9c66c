using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

// RFC 4987 3.6, SYN cookies, with Linux's policy (tcp_syncookies = 1): a SYN that finds the SYN
// queue full gets a SYN,ACK whose ISN is a cookie and the listener keeps nothing; a bare ACK to
// the listener soon after is checked as a cookie's third ACK. The encoding is SynCookies.cs.
public sealed partial class TcpLayer
{
    /// <summary>Out-of-order data of all connections together (TcpOptions.MaxOutOfOrderBytesTotal; docs/defences.md).</summary>
    internal MemoryBudget OutOfOrderMemory => outOfOrderMemory ??= new MemoryBudget(Options.MaxOutOfOrderBytesTotal);
    private MemoryBudget? outOfOrderMemory;

    /// <summary>Third ACKs are checked as cookies for this long after the last overflow (Linux's tcp_synq_no_recent_overflow: two cookie periods).</summary>
    private static readonly TimeSpan CookieWindow = SynCookies.Period * SynCookies.MaxAge;

    /// <summary>The SYN queue holds as many half-open children as the backlog, less the connections waiting for accept().</summary>
    private static bool SynQueueFull(TcpConnection listener) => listener.AcceptQueueLength + listener.HalfOpen >= listener.Backlog;

    /// <summary>A cookie SYN,ACK: MSS always; window scale, SACK-permitted and timestamps only when the SYN had timestamps (Linux clears the rest).</summary>
    private void SendCookie(TcpConnection listener, in TcpSegment syn, Endpoint local, Endpoint remote, Instant now)
    {
        listener.SynQueueOverflowedAt = now;
        var peer = syn.Options;
        int mssIndex = SynCookies.MssIndex(peer.MaximumSegmentSize ?? 536);
        var iss = cookies.Make(local, remote, syn.Sequence, mssIndex, now);
        var options = new TcpOptionsRepr(MaximumSegmentSize: (ushort)Math.Min(listener.LocalMss, ushort.MaxValue));
        if (Options.Timestamps && peer.Timestamps is { } ts)
        {
            var (_, offset) = isns.For(local, remote, now);
            int? windowScale = Options.WindowScaling && peer.WindowScale is byte ws ? ws : null;
            bool sack = Options.SelectiveAcknowledgments && peer.SackPermitted;
            uint value = SynCookies.TimestampValue(unchecked((uint)now.Milliseconds + offset), windowScale, sack);
            options = options with
            {
                WindowScale = windowScale is null ? null : (byte)Receiver.ShiftFor(listener.ReceiveBufferCapacity),
                SackPermitted = sack,
                Timestamps = (value, ts.Value),
            };
        }
        ushort window = (ushort)Receiver.SynWindow(listener.ReceiveBufferCapacity);
        var repr = new TcpRepr(local.Port, remote.Port, iss, syn.Sequence + 1, TcpFlags.Syn | TcpFlags.Ack, window, 0, options);
        Counters.Increment(Counter.TcpSynCookiesSent);
        stack.SendNote = new(FrameReason.TcpSynAckCookie);
        Transmit(repr, local.Address, remote.Address, now, listener.TypeOfService, listener.TimeToLive);
        stack.SendNote = default;
    }

    /// <summary>
    /// A bare ACK reached a listener that sent cookies lately: if SEG.ACK - 1 is a cookie for this
    /// 4-tuple and SEG.SEQ - 1, the connection is made and completed by this ACK (straight into the
    /// accept queue); false when it is no cookie (the caller answers with a RST, as Linux does).
    /// </summary>
    private bool CookieAckArrives(TcpConnection listener, in TcpSegment seg, Endpoint local, Endpoint remote, Instant now)
    {
        if (listener.SynQueueOverflowedAt is not { } at || now - at > CookieWindow) return false;
        if (!cookies.TryCheck(local, remote, seg.Sequence - 1, seg.Acknowledgment - 1, now, out int mss))
        {
            Drop(DropReason.TcpSynCookieInvalid, now);
            return false;
        }
        var ackOptions = seg.Options;
        int? windowScale = null;
        bool sack = false;
        if (ackOptions.Timestamps is { } ts)
        {
            // The echoed TSval carries what the SYN offered; timestamps we did not offer mean it is no reply to our cookie.
            if (!Options.Timestamps || !SynCookies.TryDecodeTimestamp(ts.EchoReply, out windowScale, out sack)) { Drop(DropReason.TcpSynCookieInvalid, now); return false; }
            if (!Options.WindowScaling) windowScale = null;
            sack &= Options.SelectiveAcknowledgments;
        }
        if (listener.AcceptQueueLength >= listener.Backlog) { Drop(DropReason.TcpListenOverflow, now); return true; } // as Linux: dropped, no RST
        Counters.Increment(Counter.TcpSynCookiesAccepted);
        var child = OpenChild(listener, local, remote);
        var (_, offset) = isns.For(local, remote, now);
        child.AcceptCookie(listener, seg, ackOptions, seg.Acknowledgment - 1, offset, Math.Min(mss, listener.LocalMss), windowScale, sack, now);
        child.SegmentArrives(seg, now);
        return true;
    }
}
