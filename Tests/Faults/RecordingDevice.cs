using System.Diagnostics;
using UserStack.Drivers;

namespace UserStack.Tests.Faults;

/// <summary>A fake inner device: keeps what is sent through it (with the time) and lets a test play received frames.</summary>
internal sealed class RecordingDevice : IFrameDevice
{
    private readonly object gate = new();
    private readonly List<(byte[] Frame, TimeSpan At)> sent = new();
    private FrameHandler? handler;

    public Stopwatch Clock { get; } = Stopwatch.StartNew();
    public string Name => "recording";
    public bool Disposed { get; private set; }

    public void Start(FrameHandler handler) => this.handler = handler;

    public bool Send(ReadOnlySpan<byte> frame)
    {
        lock (gate) sent.Add((frame.ToArray(), Clock.Elapsed));
        return true;
    }

    /// <summary>As if the wire delivered <paramref name="frame"/> to this device.</summary>
    public void Receive(byte[] frame) => handler!(frame);

    public List<(byte[] Frame, TimeSpan At)> Sent { get { lock (gate) return sent.ToList(); } }
    public int SentCount { get { lock (gate) return sent.Count; } }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> frames were sent through.</summary>
    public bool WaitForSent(int count, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (SentCount < count) { if (clock.Elapsed > limit) return false; Thread.Sleep(5); }
        return true;
    }

    public void Dispose() => Disposed = true;

    /// <summary>A frame that says which one it is: its number in the first four bytes.</summary>
    public static byte[] Numbered(int n, int length = 64)
    {
        var frame = new byte[length];
        BitConverter.TryWriteBytes(frame, n);
        return frame;
    }

    public static int NumberOf(byte[] frame) => BitConverter.ToInt32(frame);
}
