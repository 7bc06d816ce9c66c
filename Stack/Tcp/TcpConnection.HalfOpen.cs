using UserStack.Time;
using UserStack.Transport;

namespace UserStack.Tcp;

// The hand-over between a listener's child in SYN-RECEIVED and its small record (SynReceivedRecord.cs).
public sealed partial class TcpConnection
{
    /// <summary>
    /// A listener's child in SYN-RECEIVED that holds nothing the record cannot: its SYN,ACK is all it
    /// sent, and nothing else happened to it (no challenge ACK, no error, no ICMP, no data queued).
    /// </summary>
    internal bool ReadyForHalfOpenRecord =>
        State == TcpState.SynReceived && Parent is { State: TcpState.Listen } && InTable && Remote is not null
        && !orphaned && !ackOwed && Signal is null && challengeAcks is null && lastOutOfWindowAck is null
        && PendingError == Errno.Ok && SoftError == Errno.Ok && pathMtu == 0 && !PathMtuLocked
        && peerFin is null && !FinReceived && urgentData == UrgentData.None && keepAliveProbes == 0
        && KeepAliveAt == Instant.MaxValue && FinWait2At == Instant.MaxValue && TimeWaitAt == Instant.MaxValue
        && sender.HoldsOnlySynAck && receiver.HoldsNothing && sender.Wl1 == receiver.Initial && sender.MaxWindow == sender.Window
        && receiver.WindowShift == (WindowScalingEnabled ? Receiver.ShiftFor(receiver.Buffer.Capacity) : 0);

    /// <summary>The record that stands for this connection from now on.</summary>
    internal SynReceivedRecord ToSynReceivedRecord() => new(Parent!, Local, Remote!.Value)
    {
        InitialSend = sender.Initial,
        InitialReceive = receiver.Initial,
        SendWindow = sender.Window,
        Wl2 = sender.Wl2,
        PeerMss = (ushort)sender.PeerMss,
        PeerWindowShift = (byte)sender.WindowShift,
        WindowScaling = WindowScalingEnabled,
        Timestamps = TimestampsEnabled,
        Sack = SackEnabled,
        TimestampOffset = timestampOffset,
        TimestampRecent = timestampRecent,
        TimestampRecentAt = timestampRecentAt,
        LastHeard = lastHeard,
        SynText = synText,
        Retransmissions = (byte)sender.Retransmissions,
        SynAckSentAt = sender.SynAckSentAt,
        Deadline = sender.RetransmitAt,
        ReceiveCapacity = receiver.Buffer.Capacity,
        SendCapacity = sender.Buffer.Capacity,
        UserMss = UserMss,
        TypeOfService = TypeOfService,
        TimeToLive = TimeToLive,
    };

    /// <summary>
    /// Becomes the connection <paramref name="r"/> stood for (this is a fresh child of its listener,
    /// in the table): SYN-RECEIVED without a state change to trace or count, since it never left it.
    /// </summary>
    internal void RestoreFrom(SynReceivedRecord r)
    {
        // What it took from the listener at the SYN, not what the listener holds now (the rings are still empty).
        receiver.Buffer.TryResize(r.ReceiveCapacity);
        sender.Buffer.TryResize(r.SendCapacity);
        UserMss = r.UserMss;
        TypeOfService = r.TypeOfService;
        TimeToLive = r.TimeToLive;
        Parent = r.Listener;
        State = TcpState.SynReceived;
        timestampOffset = r.TimestampOffset;
        receiver.Initial = r.InitialReceive;
        receiver.Next = r.InitialReceive + 1;
        receiver.AdvertisedEdge = r.ReceiveNext + r.ReceiveWindow;
        receiver.LastAckSent = r.ReceiveNext;
        receiver.WindowShift = r.OurWindowShift;
        sender.Start(r.InitialSend);
        sender.PeerMss = r.PeerMss;
        sender.WindowShift = r.PeerWindowShift;
        sender.Window = r.SendWindow;
        sender.MaxWindow = r.SendWindow;
        sender.Wl1 = r.InitialReceive;
        sender.Wl2 = r.Wl2;
        WindowScalingEnabled = r.WindowScaling;
        TimestampsEnabled = r.Timestamps;
        SackEnabled = r.Sack;
        timestampRecent = r.TimestampRecent;
        timestampRecentAt = r.TimestampRecentAt;
        lastHeard = r.LastHeard;
        synText = r.SynText;
        sender.Congestion.SetMss(sender.Mss);
        sender.RestoreSynAck(r.Retransmissions, r.SynAckSentAt, r.Deadline);
    }
}
