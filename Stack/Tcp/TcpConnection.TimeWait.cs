using UserStack.Time;
using UserStack.Transport;

namespace UserStack.Tcp;

// The hand-over from a connection in TIME-WAIT whose socket is closed to its small record.
public sealed partial class TcpConnection
{
    /// <summary>In TIME-WAIT and nobody holds the socket: the record can take its place.</summary>
    internal bool ReadyForTimeWaitRecord => State == TcpState.TimeWait && orphaned && InTable;

    /// <summary>The record that answers for this connection in TIME-WAIT from now on (RFC 9293 3.10.7.4).</summary>
    internal TimeWaitRecord ToTimeWaitRecord(Endpoint local)
    {
        ushort windowField = receiver.WindowField(false, ReceiveMss); // what our ACKs carry (the edge never moves left)
        var record = new TimeWaitRecord(local, Remote!.Value, ReuseAddress)
        {
            SendNext = sender.Next,
            ReceiveNext = receiver.Next,
            ReceiveWindow = receiver.Window,
            WindowField = windowField,
            MaxSendWindow = sender.MaxWindow,
            TimestampsEnabled = TimestampsEnabled,
            TimestampOffset = timestampOffset,
            TypeOfService = TypeOfService,
            TimeToLive = TimeToLive,
            Deadline = TimeWaitAt,
        };
        record.TimestampRecent = timestampRecent;
        record.TimestampRecentAt = timestampRecentAt;
        record.LastOutOfWindowAck = lastOutOfWindowAck;
        return record;
    }

    /// <summary>The connection object is no longer the stack's: its timers stop answering for it and the socket's wake-up is dropped.</summary>
    internal void Detach()
    {
        timeWaitAt = Instant.MaxValue; // the record's timer now
        ReleaseTimer();
        Signal = null;
    }

    /// <summary>Its record left TIME-WAIT: the object, no longer the stack's, says CLOSED too (the record traced the change).</summary>
    internal void RecordEnded() => State = TcpState.Closed;
}
