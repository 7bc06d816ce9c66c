namespace UserStack.Ip;

/// <summary>
/// When a datagram carries DF (RFC 791 3.1), as Linux's IP_MTU_DISCOVER values (ip(7)).
/// RFC 1191 leaves the choice to the host; our defaults are Linux's: TCP uses <see cref="Do"/>
/// (it segments by MSS and never fragments), UDP <see cref="Want"/>, ICMP replies <see cref="Dont"/>.
/// </summary>
public enum PathMtuDiscovery : byte
{
    /// <summary>IP_PMTUDISC_DONT: never DF; larger datagrams are fragmented.</summary>
    Dont = 0,
    /// <summary>IP_PMTUDISC_WANT: DF on datagrams that fit the MTU; larger ones are fragmented without DF (Linux __ip_make_skb).</summary>
    Want = 1,
    /// <summary>IP_PMTUDISC_DO: always DF; a datagram larger than the MTU is refused (EMSGSIZE), never fragmented.</summary>
    Do = 2,
}
