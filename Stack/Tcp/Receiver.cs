using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// The receiving half of a connection (RFC 9293 3.3.1 receive sequence variables): RCV.NXT, the
/// receive buffer, the window we advertise (scaled by RFC 7323, its right edge never moving left),
/// the out-of-order store with its SACK blocks, and delayed acknowledgments (RFC 1122 4.2.3.2).
/// </summary>
internal sealed class Receiver
{
    private static readonly TimeSpan DelayedAckTimeout = TimeSpan.FromMilliseconds(40); // Linux's TCP_DELACK_MIN

    private readonly TcpLayer layer;
    private readonly TcpConnection? owner; // null only for a receiver tested alone: its timer is then nobody's
    private Instant delayedAckAt = Instant.MaxValue;

    public Receiver(TcpLayer layer, TcpOptions options, TcpConnection? owner = null)
    {
        this.layer = layer;
        this.owner = owner;
        Buffer = new ByteRing(options.ReceiveBufferSize);
        OutOfOrder = new Reassembler(options.MaxOutOfOrderSegments, layer.OutOfOrderMemory);
    }

    public SeqNumber Next;             // RCV.NXT
    public SeqNumber Initial;          // IRS
    /// <summary>Rcv.Wind.Shift (RFC 7323 2.3): 0 unless both SYNs carried a window scale.</summary>
    public int WindowShift;
    /// <summary>RCV.NXT + RCV.WND as last advertised: the right edge of the window.</summary>
    public SeqNumber AdvertisedEdge;
    /// <summary>Last.ACK.sent (RFC 7323 4.3): the ACK field of the last segment we sent.</summary>
    public SeqNumber LastAckSent;
    public ByteRing Buffer { get; }
    public Reassembler OutOfOrder { get; }
    /// <summary>No more reading (SHUT_RD or close()): reads end once the buffer is empty.</summary>
    public bool ReadShutdown;
    /// <summary>Nobody will ever read (close()): arriving text is counted and thrown away.</summary>
    public bool Discard;

    /// <summary>
    /// Nothing received past the SYN and nothing owed, and only the SYN,ACK's window announced: a
    /// SynReceivedRecord keeps the rest (TcpConnection.HalfOpen.cs).
    /// </summary>
    public bool HoldsNothing =>
        Next == Initial + 1 && Buffer.Count == 0 && OutOfOrder.IsPristine && DelayedAckAt == Instant.MaxValue && !ReadShutdown && !Discard
        && LastAckSent == Next && AdvertisedEdge == Next + SynWindow(Buffer.Capacity);

    /// <summary>The window a SYN or SYN,ACK offers with an empty buffer: never scaled (RFC 7323 2.2).</summary>
    public static int SynWindow(int bufferCapacity) => Math.Min(bufferCapacity, ushort.MaxValue);

    /// <summary>RCV.WND: what the peer may send beyond RCV.NXT, as we last told it.</summary>
    public int Window => Math.Max(0, AdvertisedEdge - Next);

    /// <summary>When a delayed ACK is due; <see cref="Instant.MaxValue"/> when none is owed.</summary>
    public Instant DelayedAckAt { get => delayedAckAt; set { delayedAckAt = value; if (owner is not null) layer.NoteDeadline(owner, value); } }

    /// <summary>RFC 7323 2.3: the shift that lets the window cover the whole receive buffer (at most 14).</summary>
    public static int ShiftFor(int bufferSize)
    {
        int shift = 0;
        while (shift < 14 && (65535L << shift) < bufferSize) shift++;
        return shift;
    }

    /// <summary>
    /// The window field of a segment we are about to send, and the right edge it advertises.
    /// Receiver SWS avoidance (RFC 9293 3.8.6.2.2): the edge moves right only by at least
    /// min(buffer / 2, MSS); it never moves left (RFC 7323 2.4), even when scaling rounds.
    /// </summary>
    public ushort WindowField(bool syn, int mss)
    {
        long free = Discard ? Buffer.Capacity : Buffer.Free;
        long current = Window;
        if (free - current < Math.Min(Buffer.Capacity / 2, mss)) free = current;
        if (syn)
        {
            long w = Math.Min(free, ushort.MaxValue);
            AdvertisedEdge = Next + (int)w;
            return (ushort)w;
        }
        long units = Math.Min(free >> WindowShift, ushort.MaxValue);
        if ((units << WindowShift) < current) units = Math.Min((current + (1L << WindowShift) - 1) >> WindowShift, ushort.MaxValue);
        var edge = Next + (int)(units << WindowShift);
        if (edge > AdvertisedEdge) AdvertisedEdge = edge;
        return (ushort)units;
    }

    /// <summary>
    /// After the application read: a window update is worth a segment when the window can grow by
    /// min(MSS, buffer / 2) (RFC 9293 3.8.6.2.2) and, as Linux's tcp_cleanup_rbuf decides, the
    /// window the peer sees is at most half the largest and would at least double.
    /// </summary>
    public bool WindowUpdateWorthSending(int mss)
    {
        long largest = Math.Min(Buffer.Capacity, (long)ushort.MaxValue << WindowShift);
        long possible = Math.Min(Buffer.Free, largest);
        long current = Window;
        return possible - current >= Math.Min(mss, largest / 2) && 2 * current <= largest && possible >= 2 * current;
    }

    /// <summary>
    /// RFC 9293 3.10.7.4, seventh step: take the in-window part of a segment's text. In order, it
    /// goes to the buffer (with what the out-of-order store can now add); beyond RCV.NXT, to the store.
    /// Returns whether the ACK for it may be delayed (RFC 1122 4.2.3.2: a full-sized, in-order
    /// segment that fills no hole).
    /// </summary>
    public bool Accept(SeqNumber sequence, ReadOnlySpan<byte> payload, int fullSize, out bool truncated, Instant now)
    {
        truncated = false;
        var end = sequence + payload.Length;
        int skip = Next - sequence;
        if (skip >= payload.Length) { OutOfOrder.ReportDuplicate(sequence, end); return false; } // all old: D-SACK
        if (skip > 0) { OutOfOrder.ReportDuplicate(sequence, Next); payload = payload[skip..]; sequence = Next; } // RFC 2883 4: the old part
        int room = AdvertisedEdge - sequence;
        if (payload.Length > room) { payload = payload[..Math.Max(room, 0)]; truncated = true; }
        if (payload.Length == 0) return false;
        if (sequence != Next)
        {
            if (!OutOfOrder.Store(sequence, payload)) layer.Drop(OutOfOrder.BudgetRefused ? DropReason.TcpOutOfOrderMemoryFull : DropReason.TcpOutOfOrderOverflow, now);
            return false;
        }
        bool holes = OutOfOrder.Count > 0;
        int n = Discard ? payload.Length : Buffer.Write(payload);
        Next += n;
        if (n < payload.Length) truncated = true;
        OutOfOrder.Drain(ref Next, Buffer, Discard);
        // RFC 1122 4.2.3.2: an ACK for at least every second full-sized segment; a super-segment
        // (the kernel's GSO through a TAP) that carries two or more is acknowledged at once, as Linux's
        // __tcp_ack_snd_check (more than one rcv_mss unacknowledged).
        return !holes && n >= fullSize && n < 2 * fullSize;
    }

    /// <summary>Every second full-sized segment is acknowledged at once, a lone one within 40 ms.</summary>
    public bool DelayAck(Instant now)
    {
        if (DelayedAckAt != Instant.MaxValue) return false;
        DelayedAckAt = now + DelayedAckTimeout;
        return true;
    }
}
