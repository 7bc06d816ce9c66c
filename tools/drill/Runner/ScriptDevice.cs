using UserStack.Drivers;
using UserStack.Sockets.Host;
using UserStack.Time;

namespace UserStack.Drill;

/// <summary>
/// The runner's side of the wire: every IPv4 frame the stack sends is queued with the virtual
/// time it left at, for `&gt;` lines to match; an ARP request is noted so the runner can answer it
/// for the gateway outside the stack's lock (packetdrill's tun device has a kernel behind it that
/// answers ARP; here the runner plays that part).
/// </summary>
internal sealed class ScriptDevice(IHostClock clock) : IFrameDevice
{
    private readonly Queue<(Instant At, byte[] Frame)> sent = new();
    private readonly object gate = new();
    private bool arpAsked;

    public string Name => "script";
    public void Start(FrameHandler handler) { }
    public void Dispose() { }

    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14) return false;
        lock (gate)
        {
            if (frame[12] == 0x08 && frame[13] == 0x00) sent.Enqueue((clock.Now, frame.ToArray()));
            else if (frame[12] == 0x08 && frame[13] == 0x06) arpAsked = true;
        }
        return true;
    }

    public bool TryPeek(out (Instant At, byte[] Frame) packet) { lock (gate) return sent.TryPeek(out packet); }
    public bool TryTake(out (Instant At, byte[] Frame) packet) { lock (gate) return sent.TryDequeue(out packet); }
    public bool HasPackets { get { lock (gate) return sent.Count > 0; } }

    /// <summary>True once per ARP request the stack sent since the last call.</summary>
    public bool TakeArpRequest()
    {
        lock (gate)
        {
            bool asked = arpAsked;
            arpAsked = false;
            return asked;
        }
    }
}
