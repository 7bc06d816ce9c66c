using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>The peer's side of one connection: its own sequence space and what it saw of the stack's.</summary>
public sealed class Conversation(ushort peerPort, ushort stackPort, SeqNumber iss)
{
    public ushort PeerPort { get; } = peerPort;
    public ushort StackPort { get; } = stackPort;
    public SeqNumber Iss { get; } = iss;
    /// <summary>The next sequence number the peer sends (its SND.NXT).</summary>
    public SeqNumber SendNext { get; set; } = iss;
    /// <summary>The next byte the peer expects from the stack (its RCV.NXT); valid once <see cref="StackIsnKnown"/>.</summary>
    public SeqNumber ReceiveNext { get; set; }
    public bool StackIsnKnown { get; set; }
    public SeqNumber StackIsn { get; set; }
    /// <summary>The peer sent its SYN (and so counts it in <see cref="SendNext"/>).</summary>
    public bool SynSent { get; set; }
    public bool FinSent { get; set; }
    /// <summary>The stack's SYN arrived and the peer has not answered it.</summary>
    public bool StackSynUnanswered { get; set; }
    /// <summary>The stack sent something the peer has not acknowledged yet.</summary>
    public bool OwesAck { get; set; }
    /// <summary>The last TS val the stack sent (the peer echoes it), if the stack sends timestamps.</summary>
    public uint? TsRecent { get; set; }
    public uint TsClock { get; set; } = 1000;
    public bool SackPermitted { get; set; }
    /// <summary>The stack's highest sequence number sent, for the peer's SACK blocks above a hole.</summary>
    public SeqNumber StackHighest { get; set; }

    public override string ToString() => $"{PeerPort}->{StackPort}";
}
