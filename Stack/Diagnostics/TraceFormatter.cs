using UserStack.Tcp;
using UserStack.Wire;

namespace UserStack.Diagnostics;

/// <summary>
/// Turns trace events into <see cref="TraceRecord"/>s: frames decoded by <see cref="TcpdumpLine"/>
/// (relative sequence numbers, so one formatter per trace), events explained with their rule.
/// Every tool that runs a stack (ustack up, demo, drill -v, labs) prints through it.
/// </summary>
public sealed class TraceFormatter
{
    private readonly TcpdumpLine frames = new();

    public TraceRecord Format(TraceEvent e)
    {
        double t = e.Time.Microseconds / 1e6;
        switch (e)
        {
            case FrameReceived r: return Frame(t, "in", r.Frame, default);
            case FrameSent s: return Frame(t, "out", s.Frame, s.Note);
            case TcpStateChanged c:
            {
                var (text, rule) = StateChangeCauses.Of(c.Cause);
                var line = $"{RfcName(c.From)} → {RfcName(c.To)}" + (text.Length > 0 ? $": {text}, {rule}" : "");
                return Tcp(t, TraceKind.State, c.Connection, line) with { Reason = text.Length > 0 ? text : null, Rule = rule.Length > 0 ? rule : null };
            }
            case TcpTimerChanged m:
            {
                var (name, rule) = TimerName(m.Timer);
                string line = m.Action switch
                {
                    TimerAction.Armed => $"{name} timer armed, {Ms(m.Duration)}" + BackOff(m.BackOff) + $", {rule}",
                    TimerAction.Restarted => $"{name} timer restarted, {Ms(m.Duration)}: the RTO changed" + BackOff(m.BackOff) + $", {rule}",
                    TimerAction.Fired => $"{name} timer fired, {rule}",
                    _ => $"{name} timer stopped: {StopCause(m.Timer)}, {rule}",
                };
                var fields = new Dictionary<string, object> { ["timer"] = m.Timer.ToString(), ["action"] = m.Action.ToString() };
                if (m.Action is TimerAction.Armed or TimerAction.Restarted) { fields["duration_ms"] = (long)m.Duration.TotalMilliseconds; fields["backoff"] = m.BackOff; }
                return Tcp(t, TraceKind.Timer, m.Connection, line) with { Rule = rule, Fields = fields };
            }
            case TcpCongestionChanged g:
                return Tcp(t, TraceKind.Congestion, g.Connection, $"{g.What}; cwnd {g.CongestionWindow}, ssthresh {Ssthresh(g.SlowStartThreshold)}, SACK scoreboard {g.SackBlocks} blocks")
                    with { Fields = new Dictionary<string, object> { ["cwnd"] = g.CongestionWindow, ["ssthresh"] = g.SlowStartThreshold, ["sack_blocks"] = g.SackBlocks } };
            case ArpEntryChanged a:
                return new TraceRecord(t, TraceKind.Arp, "arp", a.HardwareAddress is { } mac ? $"ARP cache: {a.Address} is-at {mac} ({a.State}), RFC 826" : $"ARP cache: {a.Address} {a.State}, RFC 826")
                    { Source = a.Address, Destination = a.Address };
            case EchoAnswered p:
                return new TraceRecord(t, TraceKind.Echo, "icmp", $"echo request from {p.From} id {p.Identifier} seq {p.Sequence} answered, RFC 792 / RFC 1122 §3.2.2.6")
                    { Source = p.From, Destination = p.From };
            case Dropped d:
                return new TraceRecord(t, TraceKind.Drop, ProtocolOf(d.Layer), $"dropped by {d.Layer}: {d.Reason}") { Reason = d.Reason.ToString(), Fields = new Dictionary<string, object> { ["layer"] = d.Layer } };
            default:
                return new TraceRecord(t, TraceKind.Drop, "stack", e.ToString());
        }
    }

    private TraceRecord Frame(double t, string direction, byte[] frame, FrameNote note)
    {
        var s = frames.Describe(frame);
        string? reason = null, rule = null;
        if (note.IsSet) { reason = FrameReasons.Text(note, withRule: false); rule = FrameReasons.Of(note.Reason).Rule; }
        return new TraceRecord(t, TraceKind.Frame, s.Protocol, s.Text)
        {
            Direction = direction, Reason = reason, Rule = rule,
            Source = s.Source, Destination = s.Destination, SourcePort = s.SourcePort, DestinationPort = s.DestinationPort,
        };
    }

    private static TraceRecord Tcp(double t, TraceKind kind, string connection, string text)
    {
        Endpoint(connection, 0, out var la, out var lp);
        Endpoint(connection, 1, out var ra, out var rp);
        return new TraceRecord(t, kind, "tcp", text) { Connection = connection, Source = la, SourcePort = lp, Destination = ra, DestinationPort = rp };
    }

    /// <summary>"10.0.0.2:7-10.0.0.1:40000" → the local (0) or remote (1) address and port; "*" has none.</summary>
    private static void Endpoint(string connection, int index, out Ipv4Address? address, out ushort port)
    {
        address = null; port = 0;
        var parts = connection.Split('-');
        if (index >= parts.Length) return;
        int colon = parts[index].LastIndexOf(':');
        if (colon < 0) return;
        if (Ipv4Address.TryParse(parts[index][..colon], out var a)) address = a;
        ushort.TryParse(parts[index][(colon + 1)..], out port);
    }

    /// <summary>RFC 9293's spelling of a state: SynReceived → SYN-RECEIVED, FinWait1 → FIN-WAIT-1.</summary>
    public static string RfcName(string state) => Enum.TryParse<TcpState>(state, out var s) ? s switch
    {
        TcpState.Closed => "CLOSED", TcpState.Listen => "LISTEN", TcpState.SynSent => "SYN-SENT", TcpState.SynReceived => "SYN-RECEIVED",
        TcpState.Established => "ESTABLISHED", TcpState.FinWait1 => "FIN-WAIT-1", TcpState.FinWait2 => "FIN-WAIT-2", TcpState.CloseWait => "CLOSE-WAIT",
        TcpState.Closing => "CLOSING", TcpState.LastAck => "LAST-ACK", TcpState.TimeWait => "TIME-WAIT", _ => state,
    } : state;

    private static (string, string) TimerName(TcpTimer t) => t switch
    {
        TcpTimer.Retransmission => ("retransmission (RTO)", "RFC 6298 §5"),
        TcpTimer.Persist => ("persist", "RFC 9293 §3.8.6.1"),
        TcpTimer.DelayedAck => ("delayed ACK", "RFC 1122 §4.2.3.2"),
        TcpTimer.KeepAlive => ("keepalive", "RFC 1122 §4.2.3.6"),
        TcpTimer.TimeWait => ("TIME-WAIT (2 MSL)", "RFC 9293 §3.10.8"),
        _ => ("FIN-WAIT-2", "Linux tcp_fin_timeout"),
    };

    private static string BackOff(int n) => n > 0 ? $" (back-off {n})" : "";

    /// <summary>Why a timer is stopped before it fires (TcpConnection and Sender stop each only for this cause).</summary>
    private static string StopCause(TcpTimer t) => t switch
    {
        TcpTimer.Retransmission => "everything sent is acknowledged",
        TcpTimer.Persist => "the peer's window opened",
        TcpTimer.DelayedAck => "the ACK went out before it fired (with data, or at a second segment)",
        TcpTimer.KeepAlive => "keepalive switched off or the connection left ESTABLISHED",
        TcpTimer.TimeWait => "the connection ended",
        _ => "the peer's FIN arrived",
    };

    private static string Ms(TimeSpan d) => $"{d.TotalMilliseconds:0.###} ms";
    private static string Ssthresh(int v) => v >= int.MaxValue / 2 ? "infinite" : v.ToString();

    private static string ProtocolOf(string layer) => layer switch
    {
        "Tcp" => "tcp", "Udp" => "udp", "Icmp" => "icmp", "Arp" => "arp", "Ipv4" => "ip", _ => "ether",
    };
}
