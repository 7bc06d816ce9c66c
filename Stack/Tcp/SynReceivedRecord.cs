using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// A listener's child in SYN-RECEIVED whose SYN,ACK is unanswered, as a small record in place of the
/// whole connection (Linux's request sock, tcp_request_sock): the 4-tuple, the listener, both initial
/// sequence numbers, what the SYNs negotiated, the window the peer offered, the SYN,ACK's timing and
/// retransmission timer, text that came on the SYN. No buffers, no sender or receiver.
/// <para>
/// The record answers nothing itself. Whatever happens to it (a segment, an ICMP error, its timer,
/// its listener closing) turns it back into the connection it stood for (TcpLayer.HalfOpen.cs), and
/// the ordinary SYN-RECEIVED code of RFC 9293 3.10.7.4 runs; a connection still plainly in
/// SYN-RECEIVED afterwards becomes a record again. So every rule lives in one place, and a SYN flood
/// within the backlog costs a record per SYN, not a connection.
/// </para>
/// </summary>
public sealed class SynReceivedRecord
{
    internal SynReceivedRecord(TcpConnection listener, Endpoint local, Endpoint remote)
    {
        Listener = listener;
        Local = local;
        Remote = remote;
    }

    /// <summary>Always a specific address (the one the SYN was sent to).</summary>
    public Endpoint Local { get; }
    public Endpoint Remote { get; }
    public TcpState State => TcpState.SynReceived;
    internal TcpConnection Listener { get; }

    internal SeqNumber InitialSend;        // ISS (SND.UNA; SND.NXT is ISS + 1)
    internal SeqNumber InitialReceive;     // IRS (RCV.NXT is IRS + 1)
    // Derived, not kept: RCV.WND (the SYN,ACK's, ReceiveWindow), Last.ACK.sent = RCV.NXT, SND.WL1 = IRS,
    // MAX.SND.WND = SND.WND, our shift (from ReceiveCapacity); ReadyForHalfOpenRecord checks they hold.
    internal int SendWindow;               // SND.WND from the SYN (never scaled)
    internal SeqNumber Wl2;                // SND.WL2: the SYN's acknowledgment field
    internal ushort PeerMss;
    internal byte PeerWindowShift;
    internal bool WindowScaling, Timestamps, Sack;
    internal uint TimestampOffset, TimestampRecent; // our TSval clock's offset; TS.Recent
    internal Instant TimestampRecentAt, LastHeard;
    internal byte[]? SynText;              // delivered once ESTABLISHED (RFC 9293 3.10.7.2)
    // What the child took from its listener when the SYN came, kept: the SYN,ACK announced the window and
    // MSS they give, so a listener's later setsockopt must not change them under the handshake.
    internal int ReceiveCapacity, SendCapacity;
    internal int? UserMss;
    internal byte TypeOfService, TimeToLive;
    internal byte Retransmissions;         // SYN,ACKs sent again (the RTO doubled each time)
    internal Instant SynAckSentAt;         // the SYN,ACK being timed for an RTT sample; MaxValue once one was resent (Karn)

    // RFC 9293 3.3.1's names, for tests, tables and the fuzzer.
    public SeqNumber InitialSendSequence => InitialSend;      // ISS
    public SeqNumber ReceiveNext => InitialReceive + 1;       // RCV.NXT
    public int ReceiveWindow => Receiver.SynWindow(ReceiveCapacity);       // RCV.WND, as the SYN,ACK announced it
    internal int OurWindowShift => WindowScaling ? Receiver.ShiftFor(ReceiveCapacity) : 0;

    /// <summary>When the SYN,ACK's retransmission timer fires.</summary>
    public Instant Deadline { get; internal set; }
    /// <summary>Where the record is queued in the layer's timer queue (MaxValue: not queued).</summary>
    internal Instant QueuedAt = Instant.MaxValue;
    /// <summary>Turned back into its connection (or gone with it): a queued timer entry is stale.</summary>
    internal bool Ended;

    public override string ToString() => $"tcp {Local} -> {Remote} SynReceived (record)";
}
