using UserStack.Time;

namespace UserStack.Tcp.Congestion;

/// <summary>RFC 5681 congestion avoidance: one segment more per window acknowledged (byte counting, RFC 3465).</summary>
public sealed class NewReno : CongestionControl
{
    private int bytesAcked;

    public override string Name => NewRenoName;

    protected override void CongestionAvoidance(int ackedBytes, Instant now, TimeSpan smoothedRtt)
    {
        bytesAcked += ackedBytes;
        if (bytesAcked < Window) return;
        bytesAcked -= Window;
        Window += Mss;
    }

    /// <summary>RFC 5681 3.1, equation (4): ssthresh = max(FlightSize / 2, 2*SMSS).</summary>
    public override void OnCongestionEvent(int flightSize, Instant now)
    {
        SlowStartThreshold = Math.Max(flightSize / 2, 2 * Mss);
        bytesAcked = 0;
    }
}
