using UserStack.Time;

namespace UserStack.Tcp;

// Receive batches (NetStack.BeginBatch/EndBatch): while the frames of one device read are taken, the
// ACK that RFC 1122 4.2.3.2 asks for every second full-sized segment is owed, not sent, and goes out
// once at the end of the batch for everything in order that arrived in it. That is Linux's behaviour
// with GRO (on by default): the segments one NAPI poll finds are merged and acknowledged as one, at
// most 64 KiB of them. Out-of-order data, a FIN, a window probe and everything else are still
// acknowledged at once; a lone segment still waits for the delayed-ACK timer.
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
