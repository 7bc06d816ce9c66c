using UserStack.Time;

namespace UserStack.Tcp;

// Receive batches (NetStack.BeginBatch/EndBatch): while the frames of one device read are taken, the
// ACK owed for in-order text or a FIN (RFC 1122 4.2.3.2: every second full-sized segment; a short one or
// a FIN at once) is noted, not sent, and goes out once at the end of the batch for everything in order
// that arrived in it, at most 64 KiB apart. That is Linux's behaviour with GRO (on by default): the
// segments one NAPI poll finds are merged and acknowledged as one. The host ends the batch after the
// application's inline continuations ran (StackHost.Inline.cs), so an answer they sent (an echo, a
// response, a FIN) carries the ACK and no ACK goes alone; the delay is microseconds, far inside the
// 500 ms RFC 1122 allows. Out-of-order data (RFC 5681 4.2), a window probe, a challenge ACK and
// everything else are still acknowledged at once; a lone full-sized segment still waits for the
// delayed-ACK timer.
public sealed partial class TcpLayer
{
    /// <summary>What one ACK may cover at most: GRO's limit, a 64 KiB datagram.</summary>
    internal const int BatchAckLimit = 65535;

    private readonly List<TcpConnection> acksOwed = new();

    /// <summary>Frames of one device read are being taken: ACKs for in-order data wait for its end.</summary>
    internal bool Batching { get; private set; }

    internal void BeginBatch() => Batching = true;

    /// <summary>A connection owes the ACK of in-order data until the batch ends.</summary>
    internal void OweAck(TcpConnection c) => acksOwed.Add(c);

    internal void EndBatch(Instant now)
    {
        Batching = false;
        try
        {
            foreach (var c in acksOwed) c.SendOwedAck(now);
        }
        finally { acksOwed.Clear(); }
    }
}
