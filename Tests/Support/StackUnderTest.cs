using UserStack.Time;

namespace UserStack.Tests.Support;

/// <summary>A stack wired to a capturing sink, driven by hand on a virtual clock.</summary>
public sealed class StackUnderTest
{
    public StackUnderTest(StackOptions? options = null)
    {
        Stack = new NetStack(options ?? Frames.Options(), Sink);
    }

    public CapturingSink Sink { get; } = new();
    public NetStack Stack { get; }
    public Instant Now { get; private set; } = Instant.FromMilliseconds(1000);

    public void Receive(byte[] frame) => Stack.Receive(frame, Now);

    /// <summary>Moves the clock forward, firing every timer on the way, as a host loop would.</summary>
    public void Advance(TimeSpan span)
    {
        var end = Now + span;
        while (Stack.NextDeadline <= end)
        {
            if (Stack.NextDeadline > Now) Now = Stack.NextDeadline;
            Stack.Poll(Now);
        }
        Now = end;
        Stack.Poll(Now);
    }

    /// <summary>The last frame the stack sent, read as a TCP segment (asserted to be one).</summary>
    public UserStack.Wire.TcpSegment LastTcpSent(out byte[] frame)
    {
        frame = Sink.Frames.Last();
        Assert.That(UserStack.Wire.Ipv4Packet.TryRead(frame.AsSpan(14), out var ip, out _), Is.True);
        Assert.That(UserStack.Wire.TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var segment, out _), Is.True);
        return segment;
    }

    /// <summary>Teaches the stack the peer's MAC, as the peer's own ARP request would.</summary>
    public void LearnPeer()
    {
        Receive(Frames.ArpRequestForStack());
        Sink.Frames.Clear();
    }
}
