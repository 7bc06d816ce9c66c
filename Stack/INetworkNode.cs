using UserStack.Time;

namespace UserStack;

/// <summary>Anything that takes frames and time: the stack itself, or a scripted peer in a test.</summary>
public interface INetworkNode
{
    void Receive(ReadOnlySpan<byte> frame, Instant now);
    void Poll(Instant now);
    Instant NextDeadline { get; }
}
