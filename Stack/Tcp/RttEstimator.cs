namespace UserStack.Tcp;

/// <summary>
/// RFC 6298: SRTT, RTTVAR and the retransmission timeout from round-trip measurements. With
/// timestamps there is a sample per ACK rather than per window, so the gains are divided by the
/// expected number of samples per RTT (RFC 7323 Appendix G).
/// </summary>
public sealed class RttEstimator(TcpOptions options)
{
    private static readonly TimeSpan ClockGranularity = TimeSpan.FromMilliseconds(1); // G
    /// <summary>RFC 6298 5.7: the RTO to use once data flows after a SYN timed out.</summary>
    public static readonly TimeSpan FallbackRto = TimeSpan.FromSeconds(3);

    public TimeSpan Rto { get; private set; } = options.InitialRto;
    public TimeSpan? Smoothed { get; private set; }   // SRTT
    public TimeSpan Variance { get; private set; }    // RTTVAR
    public bool HasSample => Smoothed is not null;

    /// <summary>RFC 6298 2.2-2.4 (and RFC 7323 G with <paramref name="expectedSamples"/> above 1).</summary>
    public void Sample(TimeSpan r, int expectedSamples = 1)
    {
        if (r < TimeSpan.Zero) return;
        if (Smoothed is not { } srtt)
        {
            Smoothed = r;
            Variance = r / 2;
        }
        else
        {
            double alpha = 0.125 / expectedSamples, beta = 0.25 / expectedSamples;
            Variance = Variance * (1 - beta) + (srtt - r).Duration() * beta;
            Smoothed = srtt * (1 - alpha) + r * alpha;
        }
        var rto = Smoothed.Value + Max(ClockGranularity, Variance * 4);
        Rto = Max(options.MinimumRto, Min(rto, options.MaximumRto));
    }

    /// <summary>RFC 6298 5.5: double the RTO, up to the maximum.</summary>
    public void BackOff() => Rto = Min(Rto * 2, options.MaximumRto);

    /// <summary>RFC 6298 5.7: a SYN timed out and nothing was measured, so data starts with 3 s.</summary>
    public void UseFallback()
    {
        if (!HasSample) Rto = FallbackRto;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
