using System.Buffers;
using UserStack.Diagnostics;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Link;

/// <summary>
/// ARP for Ethernet and IPv4 (RFC 826, RFC 1122 2.3.2): answers requests for our address,
/// keeps a cache that ages and re-resolves, rate-limits requests, and holds a bounded queue of
/// frames waiting for an answer.
/// </summary>
public sealed class ArpLayer
{
    private readonly NetStack stack;
    private readonly NetworkInterface link;
    private readonly ArpOptions options;
    private readonly Dictionary<Ipv4Address, ArpEntry> cache = new();
    private readonly HashSet<ArpEntry> unresolved = new(); // entries created to send, still Incomplete: capped
    private int pendingFrames;                             // frames waiting in every entry's queue: capped
    private readonly byte[] frame = new byte[EthernetFrame.MinimumLength];
    private Instant nextDeadline = Instant.MaxValue;
    private bool deadlineDirty;

    internal ArpLayer(NetStack stack, NetworkInterface link)
    {
        this.stack = stack;
        this.link = link;
        options = stack.Options.Arp;
    }

    public IReadOnlyCollection<ArpEntry> Entries => cache.Values;
    public ArpEntry? Find(Ipv4Address address) => cache.GetValueOrDefault(address);
    /// <summary>Frames waiting for resolution in all queues together (at most <see cref="ArpOptions.MaxPendingTotal"/>).</summary>
    public int PendingFrames => pendingFrames;
    /// <summary>Entries made to send and not yet resolved (at most <see cref="ArpOptions.MaxUnresolvedEntries"/>).</summary>
    public int UnresolvedEntries => unresolved.Count;

    /// <summary>RFC 5227 2.3 announcement: a request for our own address so neighbours refresh their caches.</summary>
    internal void AnnounceGratuitous(Instant now)
    {
        var ours = link.Address.Address;
        Send(ArpOperation.Request, MacAddress.Broadcast, MacAddress.Zero, ours, now);
        stack.Counters.Increment(Counter.ArpGratuitousSent);
    }

    /// <summary>RFC 826 "Packet Reception", with the merge flag.</summary>
    internal void Receive(in EthernetFrame ethernet, Instant now)
    {
        if (!ArpPacket.TryRead(ethernet.Payload, out var arp, out var why)) { stack.Drop(why, now); return; }
        var operation = arp.Operation;
        stack.Counters.Increment(operation == ArpOperation.Request ? Counter.ArpRequestsReceived : Counter.ArpRepliesReceived);

        var senderMac = arp.SenderHardwareAddress;
        var senderIp = arp.SenderProtocolAddress;
        if (!senderMac.IsUnicast || senderMac == MacAddress.Zero || senderIp.IsMulticast || senderIp.IsLimitedBroadcast || stack.Ipv4.IsLocal(senderIp))
        {
            stack.Drop(DropReason.ArpInvalidSender, now);
            return;
        }

        // An ARP probe (RFC 5227 2.1.1) has sender 0.0.0.0: answer it, learn nothing.
        bool learnable = !senderIp.IsUnspecified;
        bool merged = false;
        if (learnable && cache.TryGetValue(senderIp, out var known))
        {
            Confirm(known, senderMac, now);
            merged = true;
        }

        // Any address of the stack is answered on any of its links, with this link's MAC (Linux arp_ignore = 0).
        if (!stack.Ipv4.IsLocal(arp.TargetProtocolAddress))
        {
            if (!merged) stack.Drop(DropReason.ArpNotForUs, now);
            return;
        }

        if (learnable && !merged) Confirm(Insert(senderIp, now), senderMac, now);
        if (operation == ArpOperation.Request)
        {
            Send(ArpOperation.Reply, senderMac, senderMac, senderIp, now, arp.TargetProtocolAddress);
            stack.Counters.Increment(Counter.ArpRepliesSent);
        }
    }

    /// <summary>
    /// Sends a finished IPv4 frame (Ethernet header not yet written) to the on-link next hop,
    /// resolving it first if needed. The frame is copied when it has to wait.
    /// </summary>
    internal void SendTo(Ipv4Address nextHop, Span<byte> frameBytes, Instant now)
    {
        if (!cache.TryGetValue(nextHop, out var entry))
        {
            // A flood towards unresolved neighbours must not grow memory: new ones are refused once the cap is reached.
            if (unresolved.Count >= options.MaxUnresolvedEntries) { stack.Drop(DropReason.ArpUnresolvedOverflow, now); return; }
            entry = Insert(nextHop, now);
            unresolved.Add(entry);
            entry.State = ArpState.Incomplete;
            Enqueue(entry, frameBytes, now);
            Request(entry, now);
            return;
        }

        entry.LastUsed = now;
        if (entry.State == ArpState.Incomplete)
        {
            Enqueue(entry, frameBytes, now);
            return;
        }

        // Lifetime over but still in use: keep sending while we poll it (RFC 1122 2.3.2.1).
        if (entry.State == ArpState.Reachable && now >= entry.Deadline) StartProbing(entry, now);
        stack.TransmitIpv4(link, entry.HardwareAddress, frameBytes, now);
    }

    internal Instant NextDeadline
    {
        get
        {
            if (deadlineDirty)
            {
                var next = Instant.MaxValue;
                foreach (var e in cache.Values) next = Instant.Min(next, e.Deadline);
                nextDeadline = next;
                deadlineDirty = false;
            }
            return nextDeadline;
        }
    }

    /// <summary>Fires request retries, resolution failures and aging for every entry that is due.</summary>
    internal void Poll(Instant now)
    {
        if (NextDeadline > now) return;
        List<ArpEntry>? expired = null;
        foreach (var entry in cache.Values)
        {
            if (entry.Deadline > now) continue;
            switch (entry.State)
            {
                case ArpState.Reachable:
                    // Used since it was confirmed: re-resolve; idle: age out (RFC 1122 2.3.2.1 "Timeout").
                    if (entry.LastUsed > entry.Confirmed) StartProbing(entry, now);
                    else (expired ??= []).Add(entry);
                    break;
                case ArpState.Incomplete:
                case ArpState.Probing:
                    if (entry.RequestsSent < options.MaxRequests) Request(entry, now);
                    else (expired ??= []).Add(entry);
                    break;
            }
        }
        if (expired is null) return;
        foreach (var entry in expired) Remove(entry, now, entry.State == ArpState.Reachable ? "aged out" : "failed");
    }

    private void StartProbing(ArpEntry entry, Instant now)
    {
        entry.State = ArpState.Probing;
        entry.RequestsSent = 0;
        Trace(entry, now);
        Request(entry, now);
    }

    /// <summary>Broadcast for an unknown neighbour, unicast to the cached address when re-confirming one.</summary>
    private void Request(ArpEntry entry, Instant now)
    {
        var to = entry.State == ArpState.Probing ? entry.HardwareAddress : MacAddress.Broadcast;
        Send(ArpOperation.Request, to, MacAddress.Zero, entry.ProtocolAddress, now);
        stack.Counters.Increment(Counter.ArpRequestsSent);
        entry.RequestsSent++;
        entry.Deadline = now + options.RequestInterval;
        deadlineDirty = true;
    }

    private void Confirm(ArpEntry entry, MacAddress mac, Instant now)
    {
        entry.HardwareAddress = mac;
        entry.State = ArpState.Reachable;
        entry.Confirmed = now;
        entry.RequestsSent = 0;
        entry.Deadline = now + options.EntryLifetime;
        deadlineDirty = true;
        stack.Counters.Increment(Counter.ArpCacheUpdates);
        Trace(entry, now);
        unresolved.Remove(entry);
        entry.PendingBytes = 0;
        var outer = stack.SendNote;
        int outerSegmentSize = stack.SendSegmentSize;
        while (entry.Pending.TryDequeue(out var frame))
        {
            pendingFrames--;
            stack.SendNote = frame.Note; // the reason it had when it was queued: "SYN: active open", not nothing
            stack.SendSegmentSize = frame.SegmentSize; // a TSO super-segment stays one
            stack.TransmitIpv4(link, mac, frame.Buffer.AsSpan(0, frame.Length), now);
            ArrayPool<byte>.Shared.Return(frame.Buffer);
        }
        stack.SendNote = outer;
        stack.SendSegmentSize = outerSegmentSize;
    }

    private ArpEntry Insert(Ipv4Address address, Instant now)
    {
        if (cache.Count >= options.Capacity)
        {
            var victim = cache.Values.MinBy(e => e.LastUsed > e.Confirmed ? e.LastUsed : e.Confirmed)!;
            Remove(victim, now, "evicted");
        }
        var entry = new ArpEntry(address) { LastUsed = now, Confirmed = now, Deadline = now };
        cache.Add(address, entry);
        deadlineDirty = true;
        return entry;
    }

    private void Remove(ArpEntry entry, Instant now, string why)
    {
        cache.Remove(entry.ProtocolAddress);
        unresolved.Remove(entry);
        deadlineDirty = true;
        entry.PendingBytes = 0;
        while (entry.Pending.TryDequeue(out var frame))
        {
            pendingFrames--;
            ArrayPool<byte>.Shared.Return(frame.Buffer);
            stack.Drop(DropReason.ArpResolutionFailed, now);
        }
        stack.Trace?.Write(new ArpEntryChanged(now, entry.ProtocolAddress, null, why));
    }

    private void Enqueue(ArpEntry entry, ReadOnlySpan<byte> frameBytes, Instant now)
    {
        // Per destination, a byte budget like Linux's unres_qlen_bytes: the oldest go until the new
        // frame fits; the latest is kept even alone over budget (RFC 1122 2.3.2.2: "SHOULD save at least one (the latest)").
        while (entry.Pending.Count > 0 && entry.PendingBytes + frameBytes.Length > options.MaxPendingBytesPerDestination)
            DropOldest(entry, now);
        if (pendingFrames >= options.MaxPendingTotal)
        {
            // All queues together are full: a destination with frames waiting swaps its oldest for this one; one without gets none.
            if (entry.Pending.Count == 0) { stack.Drop(DropReason.ArpQueueOverflow, now); return; }
            DropOldest(entry, now);
        }
        var copy = ArrayPool<byte>.Shared.Rent(frameBytes.Length);
        frameBytes.CopyTo(copy);
        entry.Pending.Enqueue(new PendingFrame(copy, frameBytes.Length, stack.SendNote, stack.SendSegmentSize));
        entry.PendingBytes += frameBytes.Length;
        pendingFrames++;
        stack.Counters.Increment(Counter.ArpPacketsQueued);
    }

    private void DropOldest(ArpEntry entry, Instant now)
    {
        var oldest = entry.Pending.Dequeue();
        entry.PendingBytes -= oldest.Length;
        pendingFrames--;
        ArrayPool<byte>.Shared.Return(oldest.Buffer);
        stack.Drop(DropReason.ArpQueueOverflow, now);
    }

    /// <summary>An ARP packet from this link, its sender address <paramref name="sender"/> (the link's own by default).</summary>
    private void Send(ArpOperation operation, MacAddress to, MacAddress targetMac, Ipv4Address targetIp, Instant now, Ipv4Address? sender = null)
    {
        var ourMac = link.HardwareAddress;
        new EthernetRepr(to, ourMac, EtherType.Arp).Write(frame);
        new ArpRepr(operation, ourMac, sender ?? link.Address.Address, targetMac, targetIp).Write(frame.AsSpan(EthernetFrame.HeaderLength));
        stack.TransmitFrame(frame.AsSpan(0, EthernetFrame.HeaderLength + ArpPacket.Length), now, link);
    }

    private void Trace(ArpEntry entry, Instant now) =>
        stack.Trace?.Write(new ArpEntryChanged(now, entry.ProtocolAddress, entry.State == ArpState.Incomplete ? null : entry.HardwareAddress, entry.State.ToString()));
}
