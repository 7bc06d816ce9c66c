using UserStack.Diagnostics;
using UserStack.Time;

namespace UserStack.Tcp;

internal sealed partial class Sender
{
    /// <summary>
    /// Linux tcp_simple_retransmit after the MSS was lowered (RFC 1191 6.3): everything in flight was
    /// cut for the old size and was likely dropped, so it is sent again from SND.UNA in segments of the
    /// new size, go-back-N. The congestion window is left alone: the data in the network did not grow,
    /// only its units changed. No RTT sample comes from the resent data (Karn).
    /// </summary>
    public void RetransmitInSmallerSegments(Instant now)
    {
        if (FlightSize == 0) return;
        layer.Counters.Increment(Counter.TcpRetransmissions);
        TotalRetransmissions++;
        timing = null;
        inRecovery = false;
        duplicateAcks = 0;
        recoverGuard = Max;
        highRetransmitted = Unacknowledged;
        goBackN = Unacknowledged;
        ResendAfterTimeout(now);
    }
}
