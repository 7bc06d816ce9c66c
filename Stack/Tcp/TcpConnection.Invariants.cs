using UserStack.Time;

namespace UserStack.Tcp;

// What must hold between any two calls into the core, for tests and the fuzzer (no reflection needed).
public sealed partial class TcpConnection
{
    /// <summary>The first broken invariant of this connection, or null. <paramref name="now"/> is the time of the last Poll.</summary>
    public string? CheckInvariants(Instant now)
    {
        var s = sender;
        var r = receiver;
        if (State is TcpState.Listen or TcpState.TimeWait && (s.Buffer.HoldsMemory || r.Buffer.HoldsMemory && r.Buffer.Count == 0))
            return $"{State} holds buffer memory it cannot use";
        if (State is TcpState.Closed or TcpState.Listen) return s.Buffer.Count > s.Buffer.Capacity ? "send buffer over capacity" : null;
        if (s.Unacknowledged > s.Next) return $"SND.UNA {s.Unacknowledged} > SND.NXT {s.Next}";
        if (s.Next > s.Max) return $"SND.NXT {s.Next} > SND.MAX {s.Max}";
        // Sequence space in flight: the send buffer, the SYN, the FIN and one window-probe byte at most.
        if (s.Max - s.Unacknowledged > s.Buffer.Count + 3) return $"SND.MAX - SND.UNA = {s.Max - s.Unacknowledged} exceeds the {s.Buffer.Count} buffered bytes";
        if (s.Buffer.Count > s.Buffer.Capacity || r.Buffer.Count > r.Buffer.Capacity) return "a buffer over capacity";
        if (s.Window < 0 || s.Window > (65535 << 14)) return $"SND.WND {s.Window} out of range";
        long largestWindow = (long)ushort.MaxValue << r.WindowShift;
        if (r.Window > largestWindow) return $"RCV.WND {r.Window} beyond what the window field can say";
        if (r.Window > r.Buffer.Capacity + (1 << r.WindowShift) && State.IsSynchronized()) return $"RCV.WND {r.Window} beyond the receive buffer";
        if (r.OutOfOrder.Count > options.MaxOutOfOrderSegments) return "out-of-order store over its bound";
        // Memory: out-of-order data is only taken inside the window and never stored twice, so it fits the buffer.
        if (r.OutOfOrder.StoredBytes > r.Buffer.Capacity + (1L << r.WindowShift)) return $"{r.OutOfOrder.StoredBytes} bytes of out-of-order data for a {r.Buffer.Capacity}-byte buffer";
        if (State.IsSynchronized() && s.Congestion.Window < 1) return $"cwnd {s.Congestion.Window} below one byte";
        if (s.Congestion.SlowStartThreshold < 2) return $"ssthresh {s.Congestion.SlowStartThreshold} too small";
        if (NextDeadline < now) return $"a timer due at {NextDeadline} is still pending after Poll at {now}";
        if (State != TcpState.Listen && NextDeadline == Instant.MaxValue && State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait2) )
            return $"no timer in {State}: the connection could live for ever";
        return null;
    }
}
