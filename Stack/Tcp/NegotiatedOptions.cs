using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// What a connection's options are once the peer's SYN is seen, from our settings and its SYN: the
/// send MSS (RFC 9293 3.7.1), window scaling both ways (RFC 7323 2.2-2.3), timestamps (RFC 7323 3.2),
/// SACK (RFC 2018 2). A connection (Negotiate) and a SYN-RECEIVED record take them from here.
/// </summary>
internal readonly record struct NegotiatedOptions(int PeerMss, bool WindowScaling, int PeerWindowShift, int OurWindowShift, bool Timestamps, bool Sack)
{
    public static NegotiatedOptions From(TcpOptions ours, in TcpOptionsRepr peer, int receiveBufferCapacity)
    {
        bool scaling = ours.WindowScaling && peer.WindowScale is not null;
        return new(
            // RFC 9293 3.7.1: the peer's MSS (536 when absent); Linux keeps at least 48 bytes (TCP_MIN_SND_MSS).
            PeerMss: peer.MaximumSegmentSize is ushort mss ? Math.Max((int)mss, 48) : 536,
            WindowScaling: scaling,
            // RFC 7323 2.3: a shift above 14 is used as 14.
            PeerWindowShift: scaling ? Math.Min((int)peer.WindowScale!.Value, 14) : 0,
            OurWindowShift: scaling ? Receiver.ShiftFor(receiveBufferCapacity) : 0,
            Timestamps: ours.Timestamps && peer.Timestamps is not null,
            Sack: ours.SelectiveAcknowledgments && peer.SackPermitted);
    }
}
