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
    /// <summary>Bytes of out-of-order data kept per connection (within the receive window).</summary>
    public int MaxOutOfOrderSegments { get; init; } = 256;
}
