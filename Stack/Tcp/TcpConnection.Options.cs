using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Tcp;

// The options both SYNs negotiate (RFC 9293 3.7.1 MSS, RFC 7323 window scale and timestamps,
// RFC 2018 SACK-permitted) and the options each segment carries.
public sealed partial class TcpConnection
{
    /// <summary>Both SYNs carried a window scale (RFC 7323 2.2).</summary>
    public bool WindowScalingEnabled { get; private set; }
    /// <summary>Both SYNs carried timestamps (RFC 7323 3.2): every segment but a RST carries them.</summary>
    public bool TimestampsEnabled { get; private set; }
    /// <summary>Both SYNs carried SACK-permitted (RFC 2018 2).</summary>
    public bool SackEnabled { get; private set; }

    private uint timestampOffset;   // our TSval clock starts at a per-connection random point (as Linux)
    /// <summary>TS.Recent (RFC 7323 4.3): the peer's timestamp we echo.</summary>
    private uint timestampRecent;
    private Instant timestampRecentAt;
    private static readonly TimeSpan PawsIdleLimit = TimeSpan.FromDays(24); // RFC 7323 5.5

    /// <summary>Bytes of options on every segment once established: timestamps take 12 (RFC 7323 3.2).</summary>
    internal int OptionOverhead => TimestampsEnabled ? 12 : 0;

    /// <summary>SACK blocks that fit beside the other options: 3 with timestamps, else 4 (RFC 2018 3).</summary>
    private int SackBlockRoom => TimestampsEnabled ? 3 : SackBlocks.Capacity;

    /// <summary>
    /// Bytes the SACK option of the next segment will take (NOP NOP kind length + 8 per block): a
    /// segment carrying it carries that much less data, so that it stays within the peer's MSS
    /// (RFC 9293 3.7.1, RFC 6691; Linux's tcp_current_mss).
    /// </summary>
    internal int SackOptionBytes => SackEnabled && receiver.OutOfOrder.BlockCount(receiver.Next, SackBlockRoom) is > 0 and var n ? 4 + 8 * n : 0;

    /// <summary>
    /// Options offered in a SYN we send first (SYN-SENT: what our settings allow) or answered in a
    /// SYN,ACK (what both SYNs agreed on), and the negotiated result once the peer's SYN is seen.
    /// </summary>
    private void Negotiate(in TcpOptionsRepr peer, Instant now)
    {
        var agreed = NegotiatedOptions.From(options, peer, receiver.Buffer.Capacity);
        sender.PeerMss = agreed.PeerMss;
        WindowScalingEnabled = agreed.WindowScaling;
        sender.WindowShift = agreed.PeerWindowShift;
        receiver.WindowShift = agreed.OurWindowShift;
        TimestampsEnabled = agreed.Timestamps;
        if (peer.Timestamps is { } ts)
        {
            timestampRecent = ts.Value;
            timestampRecentAt = now;
        }
        SackEnabled = agreed.Sack;
        sender.Congestion.SetMss(sender.Mss);
    }

    /// <summary>Our TSval clock: milliseconds (RFC 7323 5.4 asks for 1 ms to 1 s per tick).</summary>
    internal uint TimestampNow(Instant now) => unchecked((uint)now.Milliseconds + timestampOffset);

    /// <summary>RFC 7323 4.1: the RTT an echoed timestamp measures, if it is plausible (a peer may echo anything).</summary>
    internal TimeSpan? TimestampAge(uint echoReply, Instant now)
    {
        uint age = unchecked(TimestampNow(now) - echoReply);
        // An echo from this very tick is less than one tick old, not zero: Linux's tcp_rtt_tsopt_us counts it as one.
        return age <= 600_000 ? TimeSpan.FromMilliseconds(Math.Max(age, 1u)) : null;
    }

    /// <summary>RFC 7323 5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is an old duplicate.</summary>
    private bool PawsRejects(in TcpOptionsRepr segOptions, TcpFlags flags, Instant now) =>
        TimestampsEnabled && (flags & TcpFlags.Rst) == 0 && segOptions.Timestamps is { } ts
        && unchecked((int)(ts.Value - timestampRecent)) < 0 && now - timestampRecentAt < PawsIdleLimit;

    /// <summary>RFC 7323 4.3 (2): remember TSval from a segment that covers Last.ACK.sent and is not older.</summary>
    private void UpdateTimestampRecent(in TcpOptionsRepr segOptions, SeqNumber sequence, Instant now)
    {
        if (!TimestampsEnabled || segOptions.Timestamps is not { } ts) return;
        if (unchecked((int)(ts.Value - timestampRecent)) >= 0 && sequence <= receiver.LastAckSent)
        {
            timestampRecent = ts.Value;
            timestampRecentAt = now;
        }
    }

    /// <summary>The options of a segment we send; <paramref name="room"/> is how many option bytes fit beside its data.</summary>
    internal TcpOptionsRepr OptionsFor(TcpFlags flags, int room, Instant now)
    {
        if ((flags & TcpFlags.Rst) != 0) return default; // RFC 7323 5.3: RSTs carry no timestamps
        if ((flags & TcpFlags.Syn) != 0)
        {
            bool first = State == TcpState.SynSent; // our own SYN offers; a SYN,ACK answers what the peer offered
            bool ws = first ? options.WindowScaling : WindowScalingEnabled;
            bool ts = first ? options.Timestamps : TimestampsEnabled;
            bool sack = first ? options.SelectiveAcknowledgments : SackEnabled;
            return new TcpOptionsRepr(
                MaximumSegmentSize: (ushort)Math.Min(LocalMss, ushort.MaxValue),
                WindowScale: ws ? (byte)(first ? Receiver.ShiftFor(receiver.Buffer.Capacity) : receiver.WindowShift) : null,
                SackPermitted: sack,
                Timestamps: ts ? (TimestampNow(now), first ? 0u : timestampRecent) : null);
        }
        var repr = TimestampsEnabled ? new TcpOptionsRepr(Timestamps: (TimestampNow(now), timestampRecent)) : default;
        if (SackEnabled)
        {
            int space = Math.Min(TcpOptionsRepr.MaximumLength, room) - repr.Length - 4; // NOP NOP kind length
            var blocks = receiver.OutOfOrder.Blocks(receiver.Next, Math.Min(SackBlockRoom, space / 8));
            if (blocks.Count > 0) repr = repr with { Sack = blocks };
        }
        return repr;
    }
}
