using UserStack.Time;

namespace UserStack.Tcp.Congestion;

/// <summary>
/// How fast a connection may send (RFC 5681 vocabulary): the congestion window (cwnd) and the
/// slow-start threshold (ssthresh), in bytes. Slow start is shared; each algorithm decides how
/// cwnd grows in congestion avoidance and what ssthresh becomes after a loss. Detecting loss and
/// running recovery is the <see cref="Sender"/>'s business, as with Linux's tcp_congestion_ops.
/// </summary>
public abstract class CongestionControl
{
    public const string NewRenoName = "newreno";
    public const string CubicName = "cubic";
    public static IReadOnlyList<string> Available { get; } = [CubicName, NewRenoName];

    public abstract string Name { get; }
    /// <summary>cwnd, in bytes.</summary>
    public int Window { get; internal set; }
    /// <summary>ssthresh, in bytes: "arbitrarily high" until the first loss (RFC 5681 3.1).</summary>
    public int SlowStartThreshold { get; internal set; } = int.MaxValue;
    /// <summary>The sender's maximum segment size (SMSS) the windows count in.</summary>
    protected int Mss { get; private set; } = 536;
    public bool InSlowStart => Window < SlowStartThreshold;

    public static bool IsKnown(string name) => Available.Contains(name);

    public static CongestionControl Create(string name) => name switch
    {
        NewRenoName => new NewReno(),
        CubicName => new Cubic(),
        _ => throw new ArgumentException($"unknown congestion control '{name}' (known: {string.Join(", ", Available)})", nameof(name)),
    };

    /// <summary>RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)), Linux's TCP_INIT_CWND of 10 segments.</summary>
    public static int InitialWindow(int mss) => Math.Min(10 * mss, Math.Max(2 * mss, 14600));

    /// <summary>The handshake is over and the sender's MSS is known: cwnd starts at the initial window.</summary>
    public void Start(int mss)
    {
        Mss = mss;
        Window = InitialWindow(mss);
    }

    /// <summary>The effective MSS changed (e.g. timestamps negotiated): keep cwnd in whole segments.</summary>
    public void SetMss(int mss) => Mss = mss;

    /// <summary>
    /// SND.UNA advanced by <paramref name="ackedBytes"/> outside loss recovery while the sender was
    /// limited by cwnd. Slow start grows cwnd by the bytes acknowledged, as Linux does (RFC 3465
    /// byte counting without the RFC 5681 cap of one SMSS per ACK, so delayed ACKs do not halve it).
    /// </summary>
    public void OnAck(int ackedBytes, Instant now, TimeSpan smoothedRtt)
    {
        if (InSlowStart)
        {
            int grow = Math.Min(ackedBytes, SlowStartThreshold - Window);
            Window += grow;
            ackedBytes -= grow;
            if (ackedBytes == 0) return;
        }
        CongestionAvoidance(ackedBytes, now, smoothedRtt);
    }

    /// <summary>RFC 5681 3.1 congestion avoidance: how cwnd grows once it reached ssthresh.</summary>
    protected abstract void CongestionAvoidance(int ackedBytes, Instant now, TimeSpan smoothedRtt);

    /// <summary>A loss was detected (fast retransmit or timeout): set ssthresh from the flight size and cwnd.</summary>
    public abstract void OnCongestionEvent(int flightSize, Instant now);

    /// <summary>RFC 5681 3.1: after a retransmission timeout cwnd is the loss window, one segment.</summary>
    public void OnRetransmitTimeout(int flightSize, Instant now, bool firstTimeout)
    {
        if (firstTimeout) OnCongestionEvent(flightSize, now);
        Window = Mss;
    }

    /// <summary>
    /// RFC 5681 4.1 after <paramref name="idle"/> without sending: ssthresh keeps 3/4 of cwnd, and
    /// cwnd halves once per RTO of idleness, not below RW = min(IW, cwnd) (Linux tcp_cwnd_restart).
    /// </summary>
    public void RestartAfterIdle(TimeSpan idle, TimeSpan rto)
    {
        int restart = Math.Min(InitialWindow(Mss), Window);
        SlowStartThreshold = Math.Max(SlowStartThreshold, Window / 2 + Window / 4);
        int window = Window;
        while ((idle -= rto) > TimeSpan.Zero && window > restart) window /= 2;
        Window = Math.Max(window, restart);
        OnRestart();
    }

    /// <summary>The algorithm's own state after an idle restart (CUBIC starts a new epoch).</summary>
    protected virtual void OnRestart() { }

    public override string ToString() => $"{Name} cwnd={Window} ssthresh={(SlowStartThreshold == int.MaxValue ? "inf" : SlowStartThreshold)}";
}
