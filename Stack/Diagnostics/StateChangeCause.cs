namespace UserStack.Diagnostics;

/// <summary>Why a TCP connection changed state; <see cref="StateChangeCauses"/> has the text and rule.</summary>
public enum StateChangeCause : byte
{
    Unspecified = 0,
    PassiveOpen,
    ActiveOpen,
    SynReceived,
    SynAckReceived,
    SimultaneousOpen,
    OurSynAcknowledged,
    Close,
    FinReceived,
    OurFinAcknowledged,
    TimeWaitExpired,
    FinWait2Expired,
    ResetReceived,
    Aborted,
    TimedOut,
    ListenerClosed,
    ClosedUnsynchronized,
    TimeWaitReopened,
}

public static class StateChangeCauses
{
    public static (string Text, string Rule) Of(StateChangeCause cause) => cause switch
    {
        StateChangeCause.PassiveOpen => ("passive OPEN (listen)", "RFC 9293 §3.10.1"),
        StateChangeCause.ActiveOpen => ("active OPEN (connect): SYN sent", "RFC 9293 §3.10.1"),
        StateChangeCause.SynReceived => ("a SYN arrived at the listener", "RFC 9293 §3.10.7.2"),
        StateChangeCause.SynAckReceived => ("our SYN acknowledged by a SYN-ACK", "RFC 9293 §3.10.7.3"),
        StateChangeCause.SimultaneousOpen => ("a SYN crossed ours (simultaneous open)", "RFC 9293 §3.10.7.3"),
        StateChangeCause.OurSynAcknowledged => ("our SYN acknowledged", "RFC 9293 §3.10.7.4"),
        StateChangeCause.Close => ("the application closed: FIN queued", "RFC 9293 §3.10.4"),
        StateChangeCause.FinReceived => ("the peer's FIN arrived", "RFC 9293 §3.10.7.4 (eighth step)"),
        StateChangeCause.OurFinAcknowledged => ("our FIN acknowledged", "RFC 9293 §3.10.7.4"),
        StateChangeCause.TimeWaitExpired => ("TIME-WAIT timer (2 MSL) expired", "RFC 9293 §3.10.8"),
        StateChangeCause.FinWait2Expired => ("FIN-WAIT-2 timer expired (orphaned socket)", "Linux tcp_fin_timeout"),
        StateChangeCause.ResetReceived => ("a RST arrived", "RFC 9293 §3.10.7.4 (second step)"),
        StateChangeCause.Aborted => ("aborted", "RFC 9293 §3.10.5"),
        StateChangeCause.TimedOut => ("retransmissions ran out", "RFC 9293 §3.8.3"),
        StateChangeCause.ListenerClosed => ("its listener closed", "RFC 9293 §3.10.4"),
        StateChangeCause.ClosedUnsynchronized => ("the application closed before a connection existed: no FIN, TCB deleted", "RFC 9293 §3.10.4"),
        StateChangeCause.TimeWaitReopened => ("a new SYN reopened the pair from TIME-WAIT", "RFC 1122 §4.2.2.13, RFC 6191"),
        _ => ("", ""),
    };
}

/// <summary>
/// The cause of a transition, read off RFC 9293's state diagram (3.3.2): most arcs have one cause;
/// an arc into CLOSED is told apart by the error the connection ends with.
/// </summary>
public static class StateTransitions
{
    public static StateChangeCause CauseOf(Tcp.TcpState from, Tcp.TcpState to, Transport.Errno error, bool aborted)
    {
        if (aborted) return StateChangeCause.Aborted;
        return (from, to) switch
        {
            (_, Tcp.TcpState.Listen) => StateChangeCause.PassiveOpen,
            (_, Tcp.TcpState.SynSent) => StateChangeCause.ActiveOpen,
            (Tcp.TcpState.SynSent, Tcp.TcpState.SynReceived) => StateChangeCause.SimultaneousOpen,
            (_, Tcp.TcpState.SynReceived) => StateChangeCause.SynReceived,
            (Tcp.TcpState.SynSent, Tcp.TcpState.Established) => StateChangeCause.SynAckReceived,
            (_, Tcp.TcpState.Established) => StateChangeCause.OurSynAcknowledged,
            (_, Tcp.TcpState.FinWait1 or Tcp.TcpState.LastAck) => StateChangeCause.Close,
            (_, Tcp.TcpState.CloseWait or Tcp.TcpState.Closing) => StateChangeCause.FinReceived,
            (_, Tcp.TcpState.FinWait2) => StateChangeCause.OurFinAcknowledged,
            (Tcp.TcpState.Closing, Tcp.TcpState.TimeWait) => StateChangeCause.OurFinAcknowledged,
            (_, Tcp.TcpState.TimeWait) => StateChangeCause.FinReceived,
            (Tcp.TcpState.TimeWait, Tcp.TcpState.Closed) => StateChangeCause.TimeWaitExpired,
            (_, Tcp.TcpState.Closed) => error switch
            {
                Transport.Errno.ECONNRESET or Transport.Errno.ECONNREFUSED => StateChangeCause.ResetReceived,
                Transport.Errno.ETIMEDOUT => StateChangeCause.TimedOut,
                Transport.Errno.ECONNABORTED => StateChangeCause.ListenerClosed,
                _ when from == Tcp.TcpState.LastAck => StateChangeCause.OurFinAcknowledged,
                _ when from == Tcp.TcpState.FinWait2 => StateChangeCause.FinWait2Expired,
                _ when from is Tcp.TcpState.Listen or Tcp.TcpState.SynSent => StateChangeCause.ClosedUnsynchronized,
                _ => StateChangeCause.Close,
            },
            _ => StateChangeCause.Unspecified,
        };
    }
}
