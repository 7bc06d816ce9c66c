namespace UserStack.Ip.Reassembly;

/// <summary>
/// Limits of IPv4 reassembly (RFC 791 leaves them to the host; defaults follow Linux, see docs/ipv4.md).
/// Memory is counted as the buffers held plus a fixed cost per datagram and per hole.
/// </summary>
public sealed record ReassemblyOptions
{
    /// <summary>How long a datagram may take to complete, from its first fragment (Linux ipfrag_time = 30 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Memory all datagrams in progress may hold (Linux ipfrag_high_thresh = 4 MiB).</summary>
    public int MaxMemory { get; init; } = 4 * 1024 * 1024;
    /// <summary>Memory the datagrams of one source may hold, so one sender cannot take it all (ours; Linux has no such cap).</summary>
    public int MaxMemoryPerSource { get; init; } = 1024 * 1024;

    public void Validate()
    {
        if (Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "must be positive");
        if (MaxMemoryPerSource < 256 * 1024) throw new ArgumentOutOfRangeException(nameof(MaxMemoryPerSource), MaxMemoryPerSource, "must hold at least one 65,535-byte datagram (256 KiB)");
        if (MaxMemory < MaxMemoryPerSource) throw new ArgumentOutOfRangeException(nameof(MaxMemory), MaxMemory, "must be at least the per-source cap");
    }
}
