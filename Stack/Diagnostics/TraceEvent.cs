using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Diagnostics;

/// <summary>What happened inside the stack, one record type per kind of thing a learner watches.</summary>
public abstract record TraceEvent(Instant Time);

/// <summary>A frame arrived from the device (before any check).</summary>
public sealed record FrameReceived(Instant Time, int Length) : TraceEvent(Time);

/// <summary>A frame left for the device.</summary>
public sealed record FrameSent(Instant Time, int Length) : TraceEvent(Time);

/// <summary>An input was discarded; <paramref name="Reason"/> is also counted.</summary>
public sealed record Dropped(Instant Time, DropReason Reason) : TraceEvent(Time);

/// <summary>An ARP cache entry changed state.</summary>
public sealed record ArpEntryChanged(Instant Time, Ipv4Address Address, MacAddress? HardwareAddress, string State) : TraceEvent(Time);

/// <summary>An ICMP echo request was answered.</summary>
public sealed record EchoAnswered(Instant Time, Ipv4Address From, ushort Identifier, ushort Sequence, int PayloadLength) : TraceEvent(Time);

/// <summary>Receives trace events. Null when nobody listens, so tracing costs a null check.</summary>
public interface ITraceSink
{
    void Write(TraceEvent e);
}

/// <summary>A TCP connection moved from one RFC 9293 state to another.</summary>
public sealed record TcpStateChanged(Instant Time, string Connection, string From, string To) : TraceEvent(Time);

/// <summary>Congestion control changed course: recovery entered or left, a timeout; with cwnd and ssthresh after it.</summary>
public sealed record TcpCongestionChanged(Instant Time, string Connection, string What, int CongestionWindow, int SlowStartThreshold) : TraceEvent(Time);
