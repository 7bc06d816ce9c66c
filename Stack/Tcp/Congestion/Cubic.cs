using UserStack.Time;

namespace UserStack.Tcp.Congestion;

/// <summary>
/// RFC 9438 CUBIC: after a loss cwnd follows W_cubic(t) = C*(t-K)^3 + W_max (windows in segments,
/// t in seconds), concave up to the old maximum and convex beyond it, never slower than Reno
/// would be (the Reno-friendly region, 4.3). Fast convergence (4.7) is on, as in Linux.
/// Slow start is plain RFC 5681 (Linux adds HyStart; we do not).
/// </summary>
public sealed class Cubic : CongestionControl
{
    private const double C = 0.4;      // RFC 9438 4.2
    private const double Beta = 0.7;   // RFC 9438 4.6, beta_cubic
    private const double AlphaReno = 3 * (1 - Beta) / (1 + Beta); // RFC 9438 4.3, alpha_cubic

    private double maxWindow;          // W_max, segments
    private double k;                  // K, seconds
    private Instant? epochStart;       // t = 0 of the current congestion-avoidance epoch
    private double renoWindow;         // W_est, segments
    private double priorWindow;        // cwnd_prior: cwnd when ssthresh was last set, segments
    private double window;             // cwnd, segments, with its fraction
    private int windowSetHere = -1;    // cwnd in bytes as this class last set it: anything else was set from outside

    public override string Name => CubicName;

    protected override void CongestionAvoidance(int ackedBytes, Instant now, TimeSpan smoothedRtt)
    {
        double segments = (double)Window / Mss;
        if (Window != windowSetHere) window = segments; // cwnd was set from outside (slow start, recovery, idle restart)
        if (epochStart is null)
        {
            epochStart = now;
            // RFC 9438 4.2, equation (2): K = cubic_root((W_max - cwnd_epoch) / C).
            k = maxWindow > window ? Math.Cbrt((maxWindow - window) / C) : 0;
            if (maxWindow < window) maxWindow = window;
            renoWindow = window;
        }
        double acked = (double)ackedBytes / Mss;
        double t = (now - epochStart.Value).TotalSeconds + smoothedRtt.TotalSeconds;
        double target = C * Math.Pow(t - k, 3) + maxWindow;                  // W_cubic(t + RTT), equation (1)
        target = Math.Clamp(target, window, 1.5 * window);                   // RFC 9438 4.4/4.5 bounds
        renoWindow += AlphaReno * acked / window;                            // equation (4)
        if (renoWindow >= priorWindow) renoWindow += (1 - AlphaReno) * acked / window; // alpha becomes 1 once W_est reaches cwnd_prior
        if (renoWindow > target) window = Math.Max(window, renoWindow);      // Reno-friendly region
        else window += (target - window) / window * acked;                   // concave and convex regions
        Window = windowSetHere = Math.Max(Mss, (int)(window * Mss));
    }

    protected override void OnRestart() => epochStart = null;

    /// <summary>RFC 9438 4.6 and 4.7: ssthresh = cwnd * beta, W_max remembered (lowered for fast convergence).</summary>
    public override void OnCongestionEvent(int flightSize, Instant now)
    {
        double segments = (double)Window / Mss;
        priorWindow = segments;
        maxWindow = segments < maxWindow ? segments * (1 + Beta) / 2 : segments;
        epochStart = null;
        SlowStartThreshold = Math.Max((int)(Window * Beta), 2 * Mss);
        window = (double)SlowStartThreshold / Mss;
    }
}
