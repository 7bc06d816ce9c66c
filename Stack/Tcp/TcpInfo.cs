namespace UserStack.Tcp;

/// <summary>A snapshot of one connection for TCP_INFO, traces and tables (Linux's struct tcp_info, in our names).</summary>
public sealed record TcpInfo(
    TcpState State,
    TimeSpan Rto,
    TimeSpan SmoothedRtt,
    TimeSpan RttVariance,
    string CongestionControl,
    int CongestionWindow,
    int SlowStartThreshold,
    bool InRecovery,
    int Retransmits,
    int TotalRetransmits,
    int SendMss,
    int ReceiveMss,
    int? SendWindowScale,
    int? ReceiveWindowScale,
    bool Timestamps,
    bool Sack,
    int SackedBytes,
    int BytesInFlight,
    int SendWindow,
    int ReceiveWindow);
