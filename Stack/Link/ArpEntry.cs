using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Link;

/// <summary>The life of one ARP cache entry.</summary>
public enum ArpState
{
    /// <summary>Broadcast requests are out; packets wait in the pending queue.</summary>
    Incomplete,
    /// <summary>Confirmed by the neighbour within the entry lifetime.</summary>
    Reachable,
    /// <summary>Lifetime over while in use: still used, re-confirmed by unicast requests (RFC 1122 2.3.2.1 "unicast poll").</summary>
    Probing,
}

/// <summary>One neighbour: its address, what we know of it, and what waits for it.</summary>
public sealed class ArpEntry(Ipv4Address address)
{
    public Ipv4Address ProtocolAddress { get; } = address;
    public MacAddress HardwareAddress { get; internal set; }
    public ArpState State { get; internal set; }
    /// <summary>Reachable: when the lifetime ends. Incomplete/Probing: when the next request is due.</summary>
    public Instant Deadline { get; internal set; }
    public Instant LastUsed { get; internal set; }
    public Instant Confirmed { get; internal set; }
    public int RequestsSent { get; internal set; }
    /// <summary>Frames waiting for this entry to resolve, in pooled arrays.</summary>
    internal Queue<PendingFrame> Pending { get; } = new();
    /// <summary>Bytes of the frames in <see cref="Pending"/> (capped by ArpOptions.MaxPendingBytesPerDestination).</summary>
    internal int PendingBytes { get; set; }

    public override string ToString() => $"{ProtocolAddress} {(State == ArpState.Incomplete ? "(incomplete)" : HardwareAddress.ToString())} {State}";
}

/// <summary>
/// A frame held for resolution: a pooled array, how much of it is the frame, and why it was sent
/// (the layer's note, given back to the trace and the capture when the frame finally leaves).
/// </summary>
internal readonly record struct PendingFrame(byte[] Buffer, int Length, Diagnostics.FrameNote Note, int SegmentSize);
