using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// Urgent data on the receiving side (RFC 9293 3.8.5, RFC 6093) with the sockets semantics of
/// Linux (BSD's): the urgent pointer points one past the last urgent byte; RCV.UP remembers the
/// mark, the byte before it, unless SO_OOBINLINE, is read out of band (one byte, a newer replacing
/// an unread older one) and skipped in the stream; reads stop at the mark (tcp_check_urg, tcp_urg,
/// tcp_recv_urg, tcp_recvmsg).
/// </summary>
public sealed partial class TcpConnection
{
    private enum UrgentData { None, NotYet, Valid, Read }

    private UrgentData urgentData;
    /// <summary>The sequence number of the last urgent byte (RCV.UP - 1; Linux's urg_seq).</summary>
    private SeqNumber urgentSequence;
    private byte urgentByte;

    /// <summary>SO_OOBINLINE: the urgent byte stays in the stream and MSG_OOB reads are EINVAL.</summary>
    public bool UrgentInline { get; set; }

    /// <summary>The sequence number of the next byte the application reads (Linux's copied_seq).</summary>
    private SeqNumber ReadSequence => receiver.Next - receiver.Buffer.Count - (FinReceived ? 1 : 0);

    /// <summary>SIOCATMARK: the next byte to read is the urgent mark.</summary>
    public bool AtUrgentMark => urgentData != UrgentData.None && urgentSequence == ReadSequence;

    /// <summary>POLLPRI: an urgent byte has arrived and was not read.</summary>
    public bool UrgentByteWaiting => urgentData == UrgentData.Valid;

    /// <summary>Bytes a read would return now (poll's POLLIN): the skipped urgent byte at the mark does not count.</summary>
    public int ReadableInBand => Available - (AtUrgentMark && !UrgentInline ? 1 : 0);

    /// <summary>
    /// Where an in-place reader (the pipe) meets the urgent mark among the unread bytes: the
    /// offset of the urgent byte, or -1 when there is none among them. As tcp_recvmsg, a read
    /// stops before it, and the byte is skipped unless SO_OOBINLINE.
    /// </summary>
    public int UrgentOffset
    {
        get
        {
            if (urgentData == UrgentData.None) return -1;
            int at = urgentSequence - ReadSequence;
            return at >= 0 && at < Available ? at : -1;
        }
    }

    /// <summary>
    /// FIONREAD/SIOCINQ, Linux's tcp_inq: the unread bytes, but only up to the mark while an urgent
    /// byte taken out of band lies ahead in what has arrived.
    /// </summary>
    public int UnreadBeforeMark =>
        UrgentInline || urgentData == UrgentData.None || urgentSequence < ReadSequence || urgentSequence >= ReadSequence + Available
            ? Available
            : urgentSequence - ReadSequence;

    /// <summary>
    /// The sixth step of RFC 9293 3.10.7.4: an urgent pointer beyond RCV.UP moves it (Linux:
    /// pointer - 1 + SEG.SEQ is the urgent byte; one already read past, or before RCV.NXT, is
    /// ignored); then the urgent byte is taken if this segment carries it.
    /// </summary>
    private void ProcessUrgent(in TcpSegment seg, SeqNumber sequence, ReadOnlySpan<byte> payload)
    {
        if ((seg.Flags & TcpFlags.Syn) != 0) return;
        if ((seg.Flags & TcpFlags.Urg) != 0)
        {
            int pointer = seg.UrgentPointer;
            if (pointer != 0) pointer--;
            var mark = sequence + pointer;
            bool stale = ReadSequence > mark || mark < receiver.Next || (urgentData != UrgentData.None && mark <= urgentSequence);
            if (!stale)
            {
                // A new mark while the old one is the next byte to read: that out-of-band byte leaves the stream now.
                if (urgentData != UrgentData.None && urgentSequence == ReadSequence && !UrgentInline && receiver.Buffer.Count > 0)
                    receiver.Buffer.Discard(1);
                urgentData = UrgentData.NotYet;
                urgentSequence = mark;
            }
        }
        if (urgentData == UrgentData.NotYet)
        {
            int at = urgentSequence - sequence;
            if (at >= 0 && at < payload.Length)
            {
                urgentByte = payload[at];
                urgentData = UrgentData.Valid;
                Signal?.Invoke();
            }
        }
    }

    /// <summary>
    /// recv(MSG_OOB), Linux's tcp_recv_urg: the urgent byte once (MSG_PEEK leaves it); EINVAL with
    /// SO_OOBINLINE, without urgent data or once it was read; EAGAIN while the mark has not arrived
    /// (0 if the stream ended first). Never waits.
    /// </summary>
    public Errno ReceiveUrgent(Span<byte> destination, bool peek, out int received)
    {
        received = 0;
        if (UrgentInline || urgentData is UrgentData.None or UrgentData.Read) return Errno.EINVAL;
        if (State == TcpState.Closed && !FinReceived) return Errno.ENOTCONN;
        if (urgentData == UrgentData.Valid)
        {
            if (!peek) urgentData = UrgentData.Read;
            if (destination.Length > 0) { destination[0] = urgentByte; received = 1; }
            return Errno.Ok;
        }
        if (State == TcpState.Closed || FinReceived || ReadShutdown) return Errno.Ok;
        return Errno.EAGAIN;
    }
}
