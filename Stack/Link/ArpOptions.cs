namespace UserStack.Link;

/// <summary>ARP cache tuning (RFC 1122 2.3.2.1 leaves the numbers to us; defaults follow Linux).</summary>
public sealed record ArpOptions
{
    /// <summary>How long a confirmed entry is trusted before it is re-resolved or aged out.</summary>
    public TimeSpan EntryLifetime { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>At most one request per destination per this interval (RFC 1122 2.3.2.1).</summary>
    public TimeSpan RequestInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Requests sent before resolution fails (Linux mcast_solicit/ucast_solicit = 3).</summary>
    public int MaxRequests { get; init; } = 3;
    /// <summary>
    /// Bytes of frames held per unresolved destination; the oldest go first, the latest always stays
    /// (RFC 1122 2.3.2.2). Linux's unres_qlen_bytes, default 212,992 (SK_WMEM_MAX); Linux counts each
    /// skb's truesize, we count frame bytes, so a 65,507-byte UDP datagram (45 fragments) fits whole.
    /// </summary>
    public int MaxPendingBytesPerDestination { get; init; } = 212_992;
    /// <summary>Frames waiting for resolution in all queues together; beyond it each destination keeps only its latest (a flood to unresolved neighbours is bounded).</summary>
    public int MaxPendingTotal { get; init; } = 256;
    /// <summary>Entries being resolved for sending at once; a packet for one more unresolved neighbour is dropped (ArpUnresolvedOverflow).</summary>
    public int MaxUnresolvedEntries { get; init; } = 128;
    /// <summary>Most entries the cache holds; the oldest unused one makes room.</summary>
    public int Capacity { get; init; } = 512;

    /// <summary>Refuses settings the ARP cache cannot run with (an empty cache or pending queue crashed the first send).</summary>
    public void Validate()
    {
        if (Capacity < 1) throw new ArgumentOutOfRangeException(nameof(Capacity), Capacity, "the ARP cache needs room for at least one entry");
        if (MaxPendingBytesPerDestination < 1) throw new ArgumentOutOfRangeException(nameof(MaxPendingBytesPerDestination), MaxPendingBytesPerDestination, "at least one packet must wait for resolution (RFC 1122 2.3.2.2: the latest)");
        if (MaxPendingTotal < 1 || MaxUnresolvedEntries < 1) throw new ArgumentOutOfRangeException(nameof(MaxPendingTotal), "the total pending queue and the unresolved entries need room for at least one");
        if (MaxRequests < 1) throw new ArgumentOutOfRangeException(nameof(MaxRequests), MaxRequests, "resolution needs at least one request");
        if (EntryLifetime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(EntryLifetime), EntryLifetime, "must be positive");
        if (RequestInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestInterval), RequestInterval, "must be positive");
    }
}
