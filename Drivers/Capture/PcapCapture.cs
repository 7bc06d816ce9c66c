using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;
using UserStack.Time;

namespace UserStack.Drivers.Capture;

/// <summary>
/// Writes frames to a pcap file (libpcap through SharpPcap) that Wireshark, tshark and tcpdump
/// read. Thread-safe. Needs Debian's libpcap0.8.
/// </summary>
public sealed class PcapCapture : IDisposable
{
    private readonly CaptureFileWriterDevice writer;
    private readonly object gate = new();
    private bool closed;

    public PcapCapture(string path)
    {
        try
        {
            writer = new CaptureFileWriterDevice(path, FileMode.Create);
            writer.Open(new DeviceConfiguration { LinkLayerType = LinkLayers.Ethernet, Snaplen = 65535 });
        }
        catch (DllNotFoundException e)
        {
            throw new DeviceUnavailableException("writing a pcap file needs libpcap: apt-get install libpcap0.8", e);
        }
        Path = path;
    }

    public string Path { get; }
    public long Frames { get; private set; }

    /// <summary>Records a frame seen at wall-clock time <paramref name="at"/>.</summary>
    public void Write(ReadOnlySpan<byte> frame, DateTime at)
    {
        long micros = (at.ToUniversalTime() - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
        Write(frame, micros);
    }

    /// <summary>Records a frame at a virtual instant (counted from the Unix epoch).</summary>
    public void Write(ReadOnlySpan<byte> frame, Instant at) => Write(frame, at.Microseconds);

    private void Write(ReadOnlySpan<byte> frame, long micros)
    {
        var header = new PcapHeader((uint)(micros / 1_000_000), (uint)(micros % 1_000_000), (uint)frame.Length, (uint)frame.Length);
        lock (gate)
        {
            if (closed) return;
            writer.Write(frame, ref header);
            Frames++;
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (closed) return;
            closed = true;
            writer.Close();
        }
    }
}
