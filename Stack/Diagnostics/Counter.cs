namespace UserStack.Diagnostics;

/// <summary>Things the stack counts besides drops: one name per event a learner wants to see.</summary>
public enum Counter : byte
{
    FramesReceived,
    FramesSent,
    BytesReceived,
    BytesSent,

    ArpRequestsReceived,
    ArpRepliesReceived,
    ArpRequestsSent,
    ArpRepliesSent,
    ArpGratuitousSent,
    ArpCacheUpdates,
    ArpPacketsQueued,

    Ipv4Received,
    Ipv4Delivered,
    Ipv4Sent,
    Ipv4FragmentsSent,
    Ipv4FragmentsReceived,
    Ipv4Reassembled,
    Ipv4Forwarded,

    IcmpReceived,
    IcmpEchoRequestsReceived,
    IcmpEchoRepliesSent,
    IcmpEchoRepliesReceived,
    IcmpOtherReceived,
    IcmpErrorsSent,
    IcmpErrorsToSockets,

    UdpReceived,
    UdpDelivered,
    UdpSent,

    RawDelivered,
    RawSent,

    TcpReceived,
    TcpSent,
    TcpResetsSent,
    TcpPathMtuReductions,
    TcpRetransmissions,
    TcpFastRetransmissions,
    TcpChallengeAcks,
    TcpActiveOpens,
    TcpPassiveOpens,
    TcpTimeouts,
    TcpSynCookiesSent,
    TcpSynCookiesAccepted,
    /// <summary>Connections whose socket was closed that handed TIME-WAIT over to a small record (Linux's TW sockets).</summary>
    TcpTimeWaitRecords,
}
