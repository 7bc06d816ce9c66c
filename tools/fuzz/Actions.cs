using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>One step of a fuzz input: something the peer sends, time passing, or a socket call.</summary>
public abstract record FuzzAction;

/// <summary>
/// A segment the peer builds from header fields. Sequence and acknowledgment numbers are taken
/// relative to the conversation (<see cref="SequenceMode"/>), options from <see cref="OptionMask"/>,
/// the checksum is fixed up unless bit 5 of the mask asks for a bad one.
/// </summary>
public sealed record SegmentAction(
    byte Conversation, TcpFlags Flags,
    byte SeqMode, uint SeqDelta, byte AckMode, uint AckDelta,
    ushort Window, byte OptionMask, ushort Mss, byte WindowScale, uint TsDelta,
    byte SackCount, ushort SackLeft, ushort SackLength, ushort PayloadLength, ushort Urgent) : FuzzAction;

/// <summary>What the stateful peer does on its own in one conversation.</summary>
public enum PeerMove : byte { React, Data, Fin, Rst, Connect, DataFin, ZeroWindow, DuplicateAck }

public sealed record PeerAction(PeerMove Move, byte Conversation, ushort Amount) : FuzzAction;

public enum TimeStepKind : byte { Milliseconds, Seconds, NextDeadline, Hours }

public sealed record TimeAction(TimeStepKind Kind, uint Amount) : FuzzAction;

/// <summary>The user calls of RFC 9293 3.10 and the socket options, as a socket layer would make them.</summary>
public enum SocketCall : byte
{
    Listen, Connect, Accept, Send, Receive, ShutdownRead, ShutdownWrite, Close, Abort, Status,
    NoDelay, KeepAlive, KeepAliveIdle, KeepAliveInterval, KeepAliveCount, Congestion,
}

public sealed record CallAction(SocketCall Call, byte Socket, uint Value) : FuzzAction;

/// <summary>Raw bytes: a whole frame (layer 0), a TCP segment in a good IPv4 frame with its checksum fixed (1), or an IPv4 payload of a random protocol (2).</summary>
public sealed record RawAction(byte Layer, byte[] Bytes) : FuzzAction
{
    public override string ToString() => $"RawAction {{ Layer = {Layer}, Bytes = {Convert.ToHexString(Bytes)} }}";
}

/// <summary>The peer's last frame again with one bit flipped (its TCP checksum fixed up, if asked).</summary>
public sealed record FlipAction(ushort Bit, bool FixChecksum) : FuzzAction;

/// <summary>How the stack under test is set up: the first bytes of every input.</summary>
public sealed record FuzzConfig(byte Flags, byte Mtu, byte SendBuffer, byte ReceiveBuffer)
{
    public const int Length = 4;
    public bool PeerAutopilot => (Flags & 1) != 0;
    public bool WindowScaling => (Flags & 2) == 0;
    public bool Timestamps => (Flags & 4) == 0;
    public bool Sack => (Flags & 8) == 0;
    public bool NewReno => (Flags & 16) != 0;
    public bool NoDelay => (Flags & 32) != 0;

    private static readonly int[] Mtus = [1500, 1500, 576, 1280, 300, 9000, 68, 100];
    private static readonly int[] Buffers = [256 * 1024, 256 * 1024, 65536, 8192, 3000, 1000, 100, 1];
    public int MtuBytes => Mtus[Mtu % Mtus.Length];
    public int SendBufferBytes => Buffers[SendBuffer % Buffers.Length];
    public int ReceiveBufferBytes => Buffers[ReceiveBuffer % Buffers.Length];
}
