using UserStack.Diagnostics;
using UserStack.Sockets.Host;
using UserStack.Tcp;
using UserStack.Wire;

namespace UserStack.Sockets.Control;

/// <summary>
/// What `ustack netstat` and `ustack top` show of a running stack: every socket (TCP with its
/// TCP_INFO numbers, UDP, raw), the interfaces with their device counters, and the stack's
/// counters and drops. Taken in one go under the host's lock, so the rows agree with each other.
/// </summary>
public sealed record StackSnapshot(
    int ProcessId,
    double UptimeSeconds,
    InterfaceRow[] Interfaces,
    CounterRow[] Counters,
    CounterRow[] Drops,
    SocketRow[] Sockets)
{
    /// <summary>The snapshot of <paramref name="host"/>'s stack now; <paramref name="devices"/> gives each interface's device counters, when known.</summary>
    public static StackSnapshot Take(StackHost host, Func<NetworkInterface, DeviceCounters?>? devices = null)
    {
        lock (host.Gate)
        {
            var stack = host.Stack;
            var interfaces = stack.Interfaces.Select(i => InterfaceRow.Of(i, devices?.Invoke(i))).ToArray();
            var counters = Enum.GetValues<Counter>().Select(c => new CounterRow(c.ToString(), stack.Counters[c])).ToArray();
            var drops = Enum.GetValues<DropReason>().Where(r => r != DropReason.None && stack.Counters[r] != 0)
                .Select(r => new CounterRow(r.ToString(), stack.Counters[r])).ToArray();
            return new(Environment.ProcessId, host.Uptime.TotalSeconds, interfaces, counters, drops, SocketRows(stack).ToArray());
        }
    }

    /// <summary>Under the lock: TCP (listeners and connections, each once), then UDP, then raw.</summary>
    private static IEnumerable<SocketRow> SocketRows(NetStack stack)
    {
        var tcp = stack.Tcp.Table.All.Concat(stack.Tcp.Connections).Distinct()
            .OrderBy(c => c.Local.Port).ThenBy(c => c.Remote?.ToString());
        foreach (var c in tcp) yield return SocketRow.Of(c);
        foreach (var r in stack.Tcp.HalfOpenRecords.OrderBy(r => r.Local.Port).ThenBy(r => r.Remote.ToString()))
            yield return new SocketRow("tcp", TraceFormatter.RfcName(r.State.ToString()), r.Local.ToString(), r.Remote.ToString(), 0, 0, null);
        foreach (var r in stack.Tcp.TimeWaits.All.OrderBy(r => r.Local.Port).ThenBy(r => r.RemoteEndpoint.ToString()))
            yield return SocketRow.Of(r);
        foreach (var u in stack.Udp.Table.All.Where(u => !u.IsClosed).OrderBy(u => u.Local.Port))
            yield return new SocketRow("udp", u.Remote is null ? "UNCONN" : "ESTAB", u.Local.ToString(), u.Remote?.ToString(), u.QueuedBytes, 0, null);
        foreach (var r in stack.Raw.Sockets.Where(r => !r.IsClosed))
            yield return new SocketRow("raw", r.RemoteAddress is null ? "UNCONN" : "ESTAB", $"{r.LocalAddress}:{(byte)r.Protocol}",
                r.RemoteAddress is { } peer ? $"{peer}:{(byte)r.Protocol}" : null, 0, 0, null);
    }

    /// <summary>A counter's value by name (0 when the snapshot has none of that name).</summary>
    public long Counter(string name) => Counters.FirstOrDefault(c => c.Name == name)?.Value ?? 0;
}

/// <summary>One interface: its name, address, MAC and MTU, and what its device counted (frames read and written, write errors), when the device counts.</summary>
public sealed record InterfaceRow(string Name, string Address, string Mac, int Mtu, long? FramesIn, long? FramesOut, long? WriteErrors)
{
    internal static InterfaceRow Of(NetworkInterface i, DeviceCounters? d) =>
        new(i.Name, i.Address.ToString(), i.HardwareAddress.ToString(), i.Mtu, d?.FramesIn, d?.FramesOut, d?.WriteErrors);
}

/// <summary>What a frame device counted: frames it read (towards the stack) and wrote, and writes that failed.</summary>
public readonly record struct DeviceCounters(long FramesIn, long FramesOut, long WriteErrors);

/// <summary>A named count: a <see cref="Diagnostics.Counter"/> or a <see cref="DropReason"/>.</summary>
public sealed record CounterRow(string Name, long Value);

/// <summary>
/// One socket, as ss(8) shows it: protocol (tcp, udp, raw), state, receive and send queues,
/// local and peer address:port (raw: the IP protocol number in place of a port), and for TCP the
/// connection's TCP_INFO numbers.
/// </summary>
public sealed record SocketRow(string Protocol, string State, string Local, string? Remote, int RecvQ, int SendQ, TcpRow? Tcp)
{
    /// <summary>Listeners show ss's numbers: Recv-Q the accept queue, Send-Q the backlog; connections their unread and unacknowledged bytes.</summary>
    internal static SocketRow Of(TcpConnection c)
    {
        var state = TraceFormatter.RfcName(c.State.ToString());
        if (c.State == TcpState.Listen) return new("tcp", state, c.Local.ToString(), null, c.AcceptQueueLength, c.Backlog, null);
        return new("tcp", state, c.Local.ToString(), c.Remote?.ToString(), c.Available, c.Unacknowledged, TcpRow.Of(c.Info));
    }

    /// <summary>A TIME-WAIT record (its socket is closed): ss lists it with empty queues and no TCP_INFO.</summary>
    internal static SocketRow Of(TimeWaitRecord r) =>
        new("tcp", TraceFormatter.RfcName(r.State.ToString()), r.Local.ToString(), r.RemoteEndpoint.ToString(), 0, 0, null);
}

/// <summary>TCP_INFO's numbers for a table: times in milliseconds, windows and MSS in bytes; no ssthresh while it is still "infinite" (ss prints none then).</summary>
public sealed record TcpRow(
    string CongestionControl,
    int Cwnd,
    int? Ssthresh,
    double SrttMs,
    double RttvarMs,
    double RtoMs,
    int Retransmits,
    int TotalRetransmits,
    int Mss,
    int? SendWscale,
    int? ReceiveWscale,
    bool Timestamps,
    bool Sack,
    bool InRecovery,
    int BytesInFlight,
    int SendWindow,
    int ReceiveWindow)
{
    internal static TcpRow Of(TcpInfo i) => new(i.CongestionControl, i.CongestionWindow, i.SlowStartThreshold == int.MaxValue ? null : i.SlowStartThreshold,
        i.SmoothedRtt.TotalMilliseconds, i.RttVariance.TotalMilliseconds, i.Rto.TotalMilliseconds,
        i.Retransmits, i.TotalRetransmits, i.SendMss, i.SendWindowScale, i.ReceiveWindowScale,
        i.Timestamps, i.Sack, i.InRecovery, i.BytesInFlight, i.SendWindow, i.ReceiveWindow);
}
