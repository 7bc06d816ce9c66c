namespace UserStack.Tcp;

/// <summary>TCP tuning; defaults follow Linux where RFC 9293 leaves a choice.</summary>
public sealed record TcpOptions
{
    public int ReceiveBufferSize { get; init; } = 256 * 1024;
    public int SendBufferSize { get; init; } = 256 * 1024;
    /// <summary>RFC 6298 2.1: the RTO before any measurement.</summary>
    public TimeSpan InitialRto { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>RFC 6298 2.4: a lower bound (Linux uses 200 ms rather than the RFC's 1 s).</summary>
    public TimeSpan MinimumRto { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>RFC 6298 2.5: an upper bound of at least 60 s.</summary>
    public TimeSpan MaximumRto { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Retransmissions of one segment before the connection gives up with ETIMEDOUT (Linux tcp_retries2 = 15; SYNs: tcp_syn_retries = 6).</summary>
    public int MaxRetransmissions { get; init; } = 15;
    public int MaxSynRetransmissions { get; init; } = 6;
    /// <summary>Maximum segment lifetime; TIME-WAIT lasts twice this (Linux: 60 s in all).</summary>
    public TimeSpan MaximumSegmentLifetime { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>RFC 5961 7: challenge ACKs per connection per second.</summary>
    public int ChallengeAcksPerSecond { get; init; } = 10;
    /// <summary>Out-of-order segments kept per connection (their bytes also lie within the receive window).</summary>
    public int MaxOutOfOrderSegments { get; init; } = 256;
    /// <summary>Bytes of out-of-order data kept by all connections together (docs/defences.md); beyond, segments are dropped (TcpOutOfOrderMemoryFull).</summary>
    public long MaxOutOfOrderBytesTotal { get; init; } = 16 * 1024 * 1024;
    /// <summary>RFC 7323 window scaling offered in our SYN and accepted in the peer's.</summary>
    public bool WindowScaling { get; init; } = true;
    /// <summary>RFC 7323 timestamps (RTTM and PAWS) offered and accepted.</summary>
    public bool Timestamps { get; init; } = true;
    /// <summary>RFC 2018 selective acknowledgments offered and accepted.</summary>
    public bool SelectiveAcknowledgments { get; init; } = true;
    /// <summary>The congestion control of new connections: "cubic" (the default, as in Linux) or "newreno".</summary>
    public string CongestionControl { get; init; } = Congestion.CongestionControl.CubicName;
    /// <summary>TCP_NODELAY for new connections (off: Nagle's algorithm runs, RFC 1122 4.2.3.4).</summary>
    public bool NoDelay { get; init; }
    /// <summary>Keepalive defaults (Linux: tcp_keepalive_time 2 h, tcp_keepalive_intvl 75 s, tcp_keepalive_probes 9).</summary>
    public TimeSpan KeepAliveIdle { get; init; } = TimeSpan.FromHours(2);
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(75);
    public int KeepAliveCount { get; init; } = 9;
    /// <summary>RFC 4987 3.6 SYN cookies: when a listener's SYN queue is full (the default, Linux tcp_syncookies = 1), always (2) or never (0: such SYNs are dropped).</summary>
    public SynCookieMode SynCookies { get; init; } = SynCookieMode.WhenFull;
    /// <summary>How long a closed socket waits in FIN-WAIT-2 for the peer's FIN (Linux tcp_fin_timeout: 60 s).</summary>
    public TimeSpan FinWait2Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Refuses settings the stack cannot run with (a clear error rather than a crash later).</summary>
    public void Validate()
    {
        if (ReceiveBufferSize < 1) throw new ArgumentOutOfRangeException(nameof(ReceiveBufferSize), ReceiveBufferSize, "the receive buffer needs at least one byte");
        if (SendBufferSize < 1) throw new ArgumentOutOfRangeException(nameof(SendBufferSize), SendBufferSize, "the send buffer needs at least one byte");
        if (MaxOutOfOrderBytesTotal < 0) throw new ArgumentOutOfRangeException(nameof(MaxOutOfOrderBytesTotal), MaxOutOfOrderBytesTotal, "cannot be negative");
        if (MaxOutOfOrderSegments < 0) throw new ArgumentOutOfRangeException(nameof(MaxOutOfOrderSegments), MaxOutOfOrderSegments, "cannot be negative");
        if (MinimumRto <= TimeSpan.Zero || MaximumRto < MinimumRto || InitialRto <= TimeSpan.Zero) throw new ArgumentException("RTO bounds must be positive with MinimumRto <= MaximumRto");
        if (!Congestion.CongestionControl.IsKnown(CongestionControl)) throw new ArgumentException($"unknown congestion control '{CongestionControl}' (known: {string.Join(", ", Congestion.CongestionControl.Available)})");
        if (KeepAliveIdle <= TimeSpan.Zero || KeepAliveInterval <= TimeSpan.Zero || KeepAliveCount < 1) throw new ArgumentException("keepalive idle and interval must be positive and the count at least 1");
    }
}

/// <summary>When a listener answers a SYN with a SYN cookie (Linux's net.ipv4.tcp_syncookies values).</summary>
public enum SynCookieMode
{
    Off = 0,
    WhenFull = 1,
    Always = 2,
}
