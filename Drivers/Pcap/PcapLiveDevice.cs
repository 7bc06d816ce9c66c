using SharpPcap;
using SharpPcap.LibPcap;
using UserStack.Wire;

namespace UserStack.Drivers.Pcap;

/// <summary>
/// An existing interface (one end of a veth pair, a bridge port, a NIC) opened through libpcap in
/// promiscuous, immediate mode: the stack reads every frame on the link and injects its own with
/// its own MAC, beside whatever the kernel does with the interface. Linux does not hand a packet
/// socket the frames it sent itself (dev_queue_xmit_nit skips the sender), but it does hand it the
/// kernel's own outgoing frames on the interface (PACKET_OUTGOING), which Ethernet drops as not for
/// us. A frame with our source MAC that comes back anyway (another capture path, a bridge loop) is
/// dropped here and counted (<see cref="OwnFramesIgnored"/>). No BPF filter: installing one
/// ("inbound", PCAP_D_IN's equivalent; SharpPcap 6.3 has no direction setting) lost every frame for
/// seconds in about one start in three here (libpcap 1.10.3 on veth).
/// </summary>
public sealed class PcapLiveDevice : IFrameDevice
{
    /// <summary>Largest frame we ask libpcap for: 64 KiB IP plus the Ethernet header.</summary>
    private const int Snaplen = 65536 + EthernetFrame.HeaderLength;

    private readonly LibPcapLiveDevice device;
    private readonly MacAddress ours;
    private readonly object sendGate = new();
    private FrameHandler? handler;
    private Thread? reader;
    private volatile bool stopping;
    private int disposed;
    private long framesRead, framesWritten, writeErrors, ownFramesIgnored;

    private PcapLiveDevice(LibPcapLiveDevice device, MacAddress ours)
    {
        this.device = device;
        this.ours = ours;
    }

    public string Name => device.Name;
    public long FramesRead => Volatile.Read(ref framesRead);
    public long FramesWritten => Volatile.Read(ref framesWritten);
    /// <summary>Injections libpcap refused; the frame is lost, as on a real wire.</summary>
    public long WriteErrors => Volatile.Read(ref writeErrors);
    /// <summary>Frames with our source MAC that came back despite the direction filter (our own output).</summary>
    public long OwnFramesIgnored => Volatile.Read(ref ownFramesIgnored);

    /// <summary>Opens interface <paramref name="name"/> of the current network namespace for a stack whose MAC is <paramref name="ours"/>.</summary>
    public static PcapLiveDevice Open(string name, MacAddress ours)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("an interface name is needed", nameof(name));
        LibPcapLiveDevice? found;
        try { found = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == name); }
        catch (DllNotFoundException e) { throw new DeviceUnavailableException("opening an interface through pcap needs libpcap: apt-get install libpcap0.8", e); }
        catch (PcapException e) { throw new DeviceUnavailableException($"cannot list interfaces through pcap: {e.Message}", e); }
        if (found is null)
            throw new DeviceUnavailableException($"no interface '{name}' in this network namespace (see `ip link`; inside a namespace run ustack with `ip netns exec NS`)");
        try
        {
            found.Open(new DeviceConfiguration { Mode = DeviceModes.Promiscuous, Immediate = true, Snaplen = Snaplen, ReadTimeout = 100 });
        }
        catch (PcapException e)
        {
            found.Dispose();
            throw new DeviceUnavailableException($"cannot open '{name}' through pcap: {e.Message} (needs root or CAP_NET_RAW)", e);
        }
        return new PcapLiveDevice(found, ours);
    }

    /// <summary>Reads on a thread of its own with GetNextPacket; the 100 ms read timeout lets Dispose stop it.</summary>
    public void Start(FrameHandler frameHandler)
    {
        handler = frameHandler;
        reader = new Thread(Read) { IsBackground = true, Name = $"pcap:{Name}" };
        reader.Start();
    }

    /// <summary>Why the reader stopped early (libpcap's error), or null while it runs or after a clean stop.</summary>
    public string? ReadError { get; private set; }

    private void Read()
    {
        IoThreadPriority.ApplyToCurrentThread();
        while (!stopping)
        {
            GetPacketStatus status;
            PacketCapture capture;
            try { status = device.GetNextPacket(out capture); }
            catch (PcapException e) { if (!stopping) ReadError = e.Message; return; }
            if (status == GetPacketStatus.PacketRead) Deliver(capture.Data);
            else if (status == GetPacketStatus.Error) { if (!stopping) ReadError = device.LastError; return; }
        }
    }

    private void Deliver(ReadOnlySpan<byte> frame)
    {
        if (frame.Length >= EthernetFrame.HeaderLength && MacAddress.Read(frame[6..]) == ours)
        {
            Interlocked.Increment(ref ownFramesIgnored);
            return;
        }
        Interlocked.Increment(ref framesRead);
        handler?.Invoke(frame);
    }

    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (Volatile.Read(ref disposed) != 0) return false;
        try
        {
            lock (sendGate) device.SendPacket(frame);
            Interlocked.Increment(ref framesWritten);
            return true;
        }
        catch (PcapException)
        {
            Interlocked.Increment(ref writeErrors);
            return false;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        stopping = true;
        if (reader is not null && reader != Thread.CurrentThread) reader.Join(TimeSpan.FromSeconds(2));
        lock (sendGate) device.Close();
    }
}
