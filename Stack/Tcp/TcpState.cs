namespace UserStack.Tcp;

/// <summary>The connection states of RFC 9293 3.3.2, in the order of the diagram.</summary>
public enum TcpState
{
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

public static class TcpStateExtensions
{
    /// <summary>RFC 9293 3.3.2: a connection is synchronized once both SYNs are acknowledged.</summary>
    public static bool IsSynchronized(this TcpState s) => s >= TcpState.Established;
    /// <summary>States in which we still accept data from the peer (RFC 9293 3.10.7.4, seventh step).</summary>
    public static bool CanReceiveText(this TcpState s) => s is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2;
    /// <summary>States in which the application may still queue data to send.</summary>
    public static bool CanSend(this TcpState s) => s is TcpState.Established or TcpState.CloseWait or TcpState.SynSent or TcpState.SynReceived;
}
