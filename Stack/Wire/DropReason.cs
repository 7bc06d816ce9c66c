namespace UserStack.Wire;

/// <summary>
/// Why an input was discarded. Parsers return it, layers count it, traces show it;
/// one list so that a learner sees the same name everywhere.
/// </summary>
public enum DropReason : byte
{
    None = 0,

    // Ethernet
    EthernetTruncated,
    EthernetNotForUs,
    EthernetUnknownType,

    // ARP (RFC 826)
    ArpTruncated,
    ArpUnsupportedHardware,
    ArpUnsupportedProtocol,
    ArpBadOperation,
    ArpInvalidSender,
    ArpNotForUs,
    ArpQueueOverflow,
    ArpResolutionFailed,
    ArpUnresolvedOverflow,

    // IPv4 (RFC 791, RFC 1122 3.2.1)
    Ipv4Truncated,
    Ipv4BadVersion,
    Ipv4BadHeaderLength,
    Ipv4BadTotalLength,
    Ipv4BadChecksum,
    Ipv4BadOptions,
    Ipv4BadSource,
    Ipv4NotForUs,
    Ipv4UnknownProtocol,
    Ipv4NoRoute,
    Ipv4TooBig,
    // Forwarding (RFC 1812 5.3; docs/routing.md)
    Ipv4TimeToLiveExceeded,
    Ipv4NotForwardable,

    // IPv4 reassembly (RFC 791 3.2, RFC 815; policy in docs/ipv4.md)
    Ipv4ReassemblyTimeout,
    Ipv4ReassemblyOverflow,
    Ipv4FragmentOverlap,
    Ipv4FragmentDuplicate,
    Ipv4FragmentTooLarge,
    Ipv4FragmentMalformed,

    // ICMP (RFC 792, RFC 1122 3.2.2)
    IcmpTruncated,
    IcmpBadChecksum,
    IcmpUnknownType,
    IcmpBroadcastEcho,

    // UDP (RFC 768)
    UdpTruncated,
    UdpBadLength,
    UdpBadChecksum,
    UdpNoSocket,
    UdpReceiveBufferFull,

    // TCP (RFC 9293)
    TcpTruncated,
    TcpBadDataOffset,
    TcpBadChecksum,
    TcpBadOption,
    TcpNoConnection,
    TcpNotAcceptable,
    TcpBadAck,
    TcpListenOverflow,
    TcpOutOfOrderOverflow,
    TcpNoAck,
    TcpPawsRejected,
    TcpIcmpOutOfWindow,
    TcpSynFin,
    TcpSynCookieInvalid,
    TcpOutOfOrderMemoryFull,

    // The host's transmit queue (frames waiting for a device write outside the stack's lock) was full:
    // the newest frame is dropped, as a kernel qdisc tail-drops when the device cannot keep up.
    TransmitQueueFull,
}
