using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Ip.Reassembly;

/// <summary>
/// IPv4 reassembly (RFC 791 3.2, RFC 815, RFC 1122 3.3.2): datagrams in progress by
/// <see cref="FragmentKey"/>, oldest first, with a timeout and memory caps per source and in
/// total. Bad fragments follow Linux's ip_frag_queue: a fragment whose bytes all arrived before is
/// dropped alone; one that overlaps received data (RFC 5722's policy, which Linux applies to IPv4
/// too), disagrees about the length, or passes 65,535 bytes drops its whole datagram.
/// </summary>
public sealed class Reassembler
{
    /// <summary>RFC 791: the largest datagram, header included.</summary>
    public const int MaximumDatagram = 65535;

    private readonly ReassemblyOptions options;
    private readonly Dictionary<FragmentKey, LinkedListNode<PartialDatagram>> table = new();
    // Creation order is deadline order (the timeout is not restarted), so this list is both the timer queue and the eviction order.
    private readonly LinkedList<PartialDatagram> oldestFirst = new();
    private readonly Dictionary<Ipv4Address, int> memoryBySource = new();
    // Released records kept for the next datagrams: a fragment flood then allocates nothing per datagram.
    private readonly Stack<PartialDatagram> spare = new();
    private const int SpareRecords = 64;

    public Reassembler(ReassemblyOptions options)
    {
        options.Validate();
        this.options = options;
    }

    public ReassemblyOptions Options => options;
    /// <summary>Memory held by every datagram in progress.</summary>
    public int Memory { get; private set; }
    public int Count => table.Count;
    public IEnumerable<PartialDatagram> InProgress => oldestFirst;
    public int MemoryOf(Ipv4Address source) => memoryBySource.GetValueOrDefault(source);
    /// <summary>When the oldest datagram times out; <see cref="Instant.MaxValue"/> when none waits.</summary>
    public Instant NextDeadline => oldestFirst.First?.Value.Deadline ?? Instant.MaxValue;

    /// <summary>
    /// Takes one fragment. Returns why it was dropped (<see cref="DropReason.None"/> when kept);
    /// <paramref name="complete"/> is the finished datagram, to <see cref="Release"/> after use;
    /// <paramref name="evicted"/> counts older datagrams given up to make room.
    /// </summary>
    public DropReason Add(in Ipv4Packet fragment, Instant now, out PartialDatagram? complete, out int evicted)
    {
        complete = null;
        evicted = 0;
        var key = FragmentKey.Of(fragment);
        int first = fragment.FragmentOffset;
        bool last = (fragment.Flags & Ipv4Flags.MoreFragments) == 0;
        int end = first + fragment.Payload.Length;
        if (!last) end &= ~7; // RFC 791: a fragment with MF carries a multiple of 8 bytes; Linux trims the rest

        table.TryGetValue(key, out var node);
        var datagram = node?.Value;
        // Linux ip_frag_queue: a datagram longer than 65,535 bytes, ...
        if (fragment.HeaderLength + end > MaximumDatagram) return GiveUp(datagram, DropReason.Ipv4FragmentTooLarge);
        // ... a last fragment that disagrees with the length known, data past the last fragment, or an empty fragment
        if (datagram is not null)
        {
            if (last && (end < datagram.Length || (datagram.HasLastFragment && end != datagram.Length))) return GiveUp(datagram, DropReason.Ipv4FragmentMalformed);
            if (!last && datagram.HasLastFragment && end > datagram.Length) return GiveUp(datagram, DropReason.Ipv4FragmentMalformed);
        }
        if (end <= first) return GiveUp(datagram, DropReason.Ipv4FragmentMalformed);

        if (datagram is not null)
        {
            switch (datagram.Holes.Classify(first, end))
            {
                case FragmentFit.Duplicate: return DropReason.Ipv4FragmentDuplicate;
                case FragmentFit.Overlap: return GiveUp(datagram, DropReason.Ipv4FragmentOverlap);
            }
        }

        int growth = datagram?.GrowthFor(end) ?? PartialDatagram.BufferSizeFor(end) + PartialDatagram.Overhead + PartialDatagram.HoleCost;
        evicted = MakeRoom(fragment.Source, growth, datagram);
        if (Memory + growth > options.MaxMemory || MemoryOf(fragment.Source) + growth > options.MaxMemoryPerSource) return DropReason.Ipv4ReassemblyOverflow;

        int before = 0;
        if (datagram is null)
        {
            if (spare.TryPop(out datagram)) datagram.Reuse(key, now + options.Timeout);
            else datagram = new PartialDatagram(key, now + options.Timeout);
            node = datagram.Node;
            oldestFirst.AddLast(node);
            table.Add(key, node);
        }
        else before = datagram.Charge;
        datagram.NoteLength(end, last);
        datagram.Add(fragment, first, end, last);
        Charge(datagram.Key.Source, datagram.Charge - before);
        if (!datagram.IsComplete) return DropReason.None;

        Remove(node!);
        datagram.Complete();
        complete = datagram;
        return DropReason.None;
    }

    /// <summary>Returns a completed (or expired) datagram's buffer to the pool; the datagram is not to be used after.</summary>
    public void Release(PartialDatagram datagram)
    {
        datagram.Release();
        if (spare.Count < SpareRecords) spare.Push(datagram);
    }

    /// <summary>
    /// Takes the oldest datagram whose time ran out at <paramref name="now"/> (RFC 791: its
    /// fragments are discarded); the caller sends time exceeded if it had its first fragment.
    /// </summary>
    public bool TryExpire(Instant now, out PartialDatagram expired)
    {
        expired = null!;
        if (oldestFirst.First is not { } node || node.Value.Deadline > now) return false;
        Remove(node);
        expired = node.Value;
        return true;
    }

    /// <summary>The first fragment of a datagram as it arrived, rented: give it back with <see cref="ReturnFirstFragment"/>.</summary>
    public byte[] RentFirstFragment(PartialDatagram datagram, out int length) => datagram.RentFirstFragment(out length);
    public static void ReturnFirstFragment(byte[] bytes) => System.Buffers.ArrayPool<byte>.Shared.Return(bytes);

    private DropReason GiveUp(PartialDatagram? datagram, DropReason why)
    {
        if (datagram is not null && table.TryGetValue(datagram.Key, out var node))
        {
            Remove(node);
            Release(datagram);
        }
        return why;
    }

    /// <summary>Evicts the oldest datagrams (of the source first, then of anyone) until <paramref name="growth"/> more bytes fit both caps.</summary>
    private int MakeRoom(Ipv4Address source, int growth, PartialDatagram? keep)
    {
        int evicted = 0;
        while (MemoryOf(source) + growth > options.MaxMemoryPerSource && Oldest(source, keep) is { } node)
        {
            Evict(node);
            evicted++;
        }
        while (Memory + growth > options.MaxMemory && Oldest(null, keep) is { } node)
        {
            Evict(node);
            evicted++;
        }
        return evicted;
    }

    /// <summary>The oldest datagram other than <paramref name="keep"/>, of <paramref name="source"/> when given (no lambda: nothing allocated per fragment).</summary>
    private LinkedListNode<PartialDatagram>? Oldest(Ipv4Address? source, PartialDatagram? keep)
    {
        for (var node = oldestFirst.First; node is not null; node = node.Next)
            if (node.Value != keep && (source is not { } s || node.Value.Key.Source == s)) return node;
        return null;
    }

    private void Evict(LinkedListNode<PartialDatagram> node)
    {
        Remove(node);
        Release(node.Value);
    }

    private void Remove(LinkedListNode<PartialDatagram> node)
    {
        var datagram = node.Value;
        table.Remove(datagram.Key);
        oldestFirst.Remove(node);
        Charge(datagram.Key.Source, -datagram.Charge);
    }

    private void Charge(Ipv4Address source, int bytes)
    {
        Memory += bytes;
        int now = memoryBySource.GetValueOrDefault(source) + bytes;
        if (now == 0) memoryBySource.Remove(source);
        else memoryBySource[source] = now;
    }
}
