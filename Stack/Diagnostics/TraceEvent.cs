using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Diagnostics;

/// <summary>What happened inside the stack, one record type per kind of thing a learner watches.</summary>
public abstract record TraceEvent(Instant Time);

/// <summary>
/// A frame arrived from the device (before any check). <paramref name="Frame"/> is a copy made
/// only when someone traces; <see cref="TraceFormatter"/> decodes it as tcpdump would.
/// </summary>
public sealed record FrameReceived(Instant Time, byte[] Frame) : TraceEvent(Time)
{
    public int Length => Frame.Length;
}

/// <summary>A frame left for the device; <paramref name="Note"/> says why, where the bytes cannot.</summary>
public sealed record FrameSent(Instant Time, byte[] Frame, FrameNote Note) : TraceEvent(Time)
{
    public int Length => Frame.Length;
}

/// <summary>An input was discarded; <paramref name="Reason"/> is also counted.</summary>
public sealed record Dropped(Instant Time, DropReason Reason) : TraceEvent(Time)
{
    /// <summary>The layer that dropped it: the reason's prefix (Ethernet, Arp, Ipv4, Icmp, Udp, Tcp).</summary>
    public string Layer => DropReasons.LayerOf(Reason);
}

/// <summary>An ARP cache entry changed state.</summary>
public sealed record ArpEntryChanged(Instant Time, Ipv4Address Address, MacAddress? HardwareAddress, string State) : TraceEvent(Time);

/// <summary>An ICMP echo request was answered.</summary>
public sealed record EchoAnswered(Instant Time, Ipv4Address From, ushort Identifier, ushort Sequence, int PayloadLength) : TraceEvent(Time);

/// <summary>Receives trace events. Null when nobody listens, so tracing costs a null check.</summary>
public interface ITraceSink
{
    void Write(TraceEvent e);
}

/// <summary>A TCP connection moved from one RFC 9293 state to another, and why.</summary>
public sealed record TcpStateChanged(Instant Time, string Connection, string From, string To, StateChangeCause Cause = StateChangeCause.Unspecified) : TraceEvent(Time);

/// <summary>Congestion control changed course: recovery entered or left, a timeout; with cwnd, ssthresh and the SACK scoreboard after it.</summary>
public sealed record TcpCongestionChanged(Instant Time, string Connection, string What, int CongestionWindow, int SlowStartThreshold, int SackBlocks = 0) : TraceEvent(Time);

/// <summary>
/// One of a connection's timers was armed (for <paramref name="Duration"/>), restarted with a new
/// duration, fired or stopped; <paramref name="BackOff"/> counts the doublings behind the duration.
/// </summary>
public sealed record TcpTimerChanged(Instant Time, string Connection, TcpTimer Timer, TimerAction Action, TimeSpan Duration = default, int BackOff = 0) : TraceEvent(Time);

/// <summary>The timers of a TCP connection (RFC 6298, RFC 9293 3.8.6.1, RFC 1122 4.2.3.2 and 4.2.3.6, RFC 9293 3.10.8, Linux's FIN-WAIT-2).</summary>
public enum TcpTimer : byte { Retransmission, Persist, DelayedAck, KeepAlive, TimeWait, FinWait2 }

/// <summary>Armed: started while off. Restarted: started again while running (traced only when its duration changed). Cancelled: stopped before it fired.</summary>
public enum TimerAction : byte { Armed, Fired, Cancelled, Restarted }

public static class DropReasons
{
    private static readonly string[] Layers = ["Ethernet", "Arp", "Ipv4", "Icmp", "Udp", "Tcp"];

    public static string LayerOf(DropReason reason)
    {
        var name = reason.ToString();
        foreach (var l in Layers) if (name.StartsWith(l, StringComparison.Ordinal)) return l;
        return "Stack";
    }
}
