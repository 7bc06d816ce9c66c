using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using static UserStack.Drivers.Tap.LibC;

namespace UserStack.Drivers.Tap;

/// <summary>
/// A Linux TAP interface (Documentation/networking/tuntap.rst): Ethernet frames, one per
/// read() and write(), no packet-info header. A dedicated thread reads with a non-blocking
/// fd and poll(); an eventfd wakes it so that Dispose returns at once (close() alone does not
/// wake a blocked read). After each wake-up it reads every queued frame (up to
/// <see cref="MaxBatch"/>) into one buffer before handing them over as a <see cref="FrameBatch"/>.
/// <para>
/// Opened with offloads (<see cref="Open(string, bool)"/>), every read and write carries a
/// <see cref="VirtioNetHeader"/> first (IFF_VNET_HDR) and the kernel is told we take frames whose
/// checksum is not done and TCP super-segments up to 64 KiB (TUNSETOFFLOAD: TUN_F_CSUM, TUN_F_TSO4):
/// it then skips checksumming and segmenting what it sends us, and cuts what we send with
/// <see cref="Send(ReadOnlySpan{byte}, int)"/> into segments itself.
/// </para>
/// </summary>
public sealed unsafe class TapDevice : ISegmentationOffloadDevice
{
    private const nuint TUNSETIFF = 0x400454CA;
    private const short IFF_TAP = 0x0002;
    private const short IFF_NO_PI = 0x1000;
    private const short IFF_VNET_HDR = 0x4000;
    private const nuint TUNSETOFFLOAD = 0x400454D0;
    private const nuint TUNSETVNETHDRSZ = 0x400454D8;
    private const uint TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02;
    private const int IfReqSize = 40;
    private const int IfNameSize = 16;
    /// <summary>Largest read the kernel can hand us: 64 KiB IP, the Ethernet header and a virtio header.</summary>
    private const int ReadBufferSize = 65536 + 14 + VirtioNetHeader.Size;
    /// <summary>Frames read per batch at most: bounds how long a host holds its lock for one batch.</summary>
    public const int MaxBatch = 64;
    /// <summary>Room for <see cref="MaxBatch"/> full-MTU frames plus one largest frame, so a read never truncates.</summary>
    private const int BatchBufferSize = MaxBatch * 1536 + ReadBufferSize;

    /// <summary>
    /// How long the reader retries an empty queue after a batch before it sleeps in poll() (0: never).
    /// Under a flood this keeps it on its CPU (a wake-up from poll costs a context switch, and a
    /// sleeping vCPU can take milliseconds to run again while the queue overflows); when traffic
    /// is light it costs at most this much CPU per wake-up. Longer is busy polling (Linux's
    /// net.core.busy_poll): a reader that spins longer than the gap between frames never sleeps, so a
    /// frame waits for no wake-up, at the price of a core kept busy.
    /// </summary>
    public int SpinMicroseconds { get => spinMicroseconds; set => spinMicroseconds = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value)); }
    private volatile int spinMicroseconds = 50;

    private readonly int fd;
    private readonly int wakeFd;
    private Thread? reader;
    private volatile bool stopping;
    private int disposed;

    private TapDevice(int fd, int wakeFd, string name, bool virtioHeader, bool segmentationOffload)
    {
        this.fd = fd;
        this.wakeFd = wakeFd;
        Name = name;
        this.virtioHeader = virtioHeader;
        SegmentationOffload = segmentationOffload;
    }

    private readonly bool virtioHeader;

    public string Name { get; }
    /// <summary>
    /// The kernel took TUN_F_CSUM and TUN_F_TSO4: frames it sends may be TCP super-segments with their
    /// checksum not done (the batch marks them trusted), and <see cref="Send(ReadOnlySpan{byte}, int)"/> may hand it one.
    /// </summary>
    public bool SegmentationOffload { get; }
    /// <summary>Why offloads were asked for and not granted, or "" (they were, or were not asked for).</summary>
    public string OffloadRefusal { get; private init; } = "";
    public long FramesRead => Volatile.Read(ref framesRead);
    public long FramesWritten => Volatile.Read(ref framesWritten);
    /// <summary>Writes the kernel refused (queue full, interface down); the frame is lost, as on a real wire.</summary>
    public long WriteErrors => Volatile.Read(ref writeErrors);
    private long framesRead, framesWritten, writeErrors;

    /// <summary>Whether this process can open TAP devices at all, and if not, why.</summary>
    public static bool IsAvailable(out string reason)
    {
        if (!OperatingSystem.IsLinux()) { reason = "TAP devices need Linux"; return false; }
        if (!File.Exists("/dev/net/tun")) { reason = "/dev/net/tun is missing (load the tun module: modprobe tun)"; return false; }
        if (Environment.UserName != "root" && !HasNetAdmin()) { reason = "opening a TAP device needs root or CAP_NET_ADMIN (run with sudo)"; return false; }
        reason = "";
        return true;
    }

    private static bool HasNetAdmin()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:"));
            return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << 12)) != 0;
        }
        catch (IOException) { return false; }
    }

    /// <summary>
    /// Creates the TAP interface <paramref name="name"/>, or attaches to it if it exists and is persistent;
    /// with <paramref name="offload"/>, asks for checksum and TCP segmentation offloads (granted when
    /// <see cref="SegmentationOffload"/> is true; refused, the device works without them and says why).
    /// </summary>
    public static TapDevice Open(string name, bool offload = false)
    {
        if (string.IsNullOrEmpty(name) || Encoding.UTF8.GetByteCount(name) >= IfNameSize || name.Contains('/') || name.Any(char.IsWhiteSpace))
            throw new ArgumentException($"'{name}' is not a valid interface name (1-15 characters, no '/' or spaces)", nameof(name));
        if (!IsAvailable(out var reason)) throw new DeviceUnavailableException($"cannot open TAP '{name}': {reason}");

        int fd = LibC.Open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) throw Unavailable(name, "open /dev/net/tun", Marshal.GetLastPInvokeError());

        byte* ifr = stackalloc byte[IfReqSize];
        new Span<byte>(ifr, IfReqSize).Clear();
        Encoding.UTF8.GetBytes(name, new Span<byte>(ifr, IfNameSize - 1));
        *(short*)(ifr + IfNameSize) = (short)(IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0));
        if (Ioctl(fd, TUNSETIFF, ifr) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw Unavailable(name, "TUNSETIFF", errno);
        }
        string actual = Marshal.PtrToStringUTF8((nint)ifr) ?? name;

        int wake = EventFd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw Unavailable(name, "eventfd", errno);
        }
        string refusal = "";
        if (offload)
        {
            int size = VirtioNetHeader.Size;
            if (Ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) refusal = $"TUNSETVNETHDRSZ: {Describe(Marshal.GetLastPInvokeError())}";
            else if (Ioctl(fd, TUNSETOFFLOAD, (void*)(nuint)(TUN_F_CSUM | TUN_F_TSO4)) < 0) refusal = $"TUNSETOFFLOAD: {Describe(Marshal.GetLastPInvokeError())}";
        }
        return new TapDevice(fd, wake, actual, offload, offload && refusal.Length == 0) { OffloadRefusal = refusal };
    }

    private static DeviceUnavailableException Unavailable(string name, string call, int errno) => new(errno switch
    {
        ENOENT or ENODEV => $"cannot open TAP '{name}': {call}: {Describe(errno)} (is the tun module loaded? modprobe tun)",
        EPERM or EACCES => $"cannot open TAP '{name}': {call}: {Describe(errno)} (run as root or grant CAP_NET_ADMIN)",
        EBUSY => $"cannot open TAP '{name}': {call}: {Describe(errno)} (another process holds it, or it is not a TAP)",
        _ => $"cannot open TAP '{name}': {call}: {Describe(errno)}",
    });

    public void Start(FrameHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Start((in FrameBatch batch) =>
        {
            for (int i = 0; i < batch.Count; i++) handler(batch[i]);
        });
    }

    public void Start(FrameBatchHandler handler)
    {
        if (reader is not null) throw new InvalidOperationException("the device is already started");
        reader = new Thread(() => ReadLoop(handler)) { IsBackground = true, Name = $"tap:{Name}" };
        reader.Start();
    }

    private void ReadLoop(FrameBatchHandler handler)
    {
        IoThreadPriority.ApplyToCurrentThread();
        var buffer = GC.AllocateArray<byte>(BatchBufferSize, pinned: true);
        var starts = new int[MaxBatch];
        var lengths = new int[MaxBatch];
        var trusted = new bool[MaxBatch];
        int skip = virtioHeader ? VirtioNetHeader.Size : 0;
        PollFd* fds = stackalloc PollFd[2];
        fixed (byte* b = buffer)
        {
            while (!stopping)
            {
                fds[0] = new PollFd { Fd = fd, Events = POLLIN };
                fds[1] = new PollFd { Fd = wakeFd, Events = POLLIN };
                int ready = LibC.Poll(fds, 2, -1);
                if (ready < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EINTR) continue;
                    return;
                }
                if (stopping || fds[1].Revents != 0) return;
                if ((fds[0].Revents & (POLLERR | POLLHUP)) != 0 && (fds[0].Revents & POLLIN) == 0) return;

                // Drain everything that is queued before polling again, a batch at a time.
                while (!stopping)
                {
                    int count = 0, used = 0;
                    while (count < MaxBatch && BatchBufferSize - used >= ReadBufferSize)
                    {
                        // EAGAIN (queue empty), EINTR or anything else: deliver what we have, then poll (it reports errors).
                        nint n = LibC.ReadIgnoringErrno(fd, b + used, ReadBufferSize);
                        if (n <= 0 && count == 0 && SpinMicroseconds > 0)
                        {
                            // Busy: the next frame is likely microseconds away. Retrying for a moment
                            // keeps this thread on its CPU instead of sleeping and waiting to be woken.
                            long until = Stopwatch.GetTimestamp() + SpinMicroseconds * Stopwatch.Frequency / 1_000_000;
                            while (n <= 0 && !stopping && Stopwatch.GetTimestamp() < until) n = LibC.ReadIgnoringErrno(fd, b + used, ReadBufferSize);
                        }
                        if (n <= skip) break;
                        starts[count] = used + skip;
                        lengths[count] = (int)n - skip;
                        // NEEDS_CSUM: the kernel left the checksum to us because the frame never left this
                        // machine (Linux's CHECKSUM_PARTIAL counts as verified); DATA_VALID: it checked it.
                        trusted[count] = skip != 0 && (b[used] & (VirtioNetHeader.NeedsChecksum | VirtioNetHeader.DataValid)) != 0;
                        used += ((int)n + 63) & ~63;
                        count++;
                    }
                    if (count == 0) break;
                    framesRead += count;
                    handler(new FrameBatch(buffer, starts.AsSpan(0, count), lengths.AsSpan(0, count), skip != 0 ? trusted.AsSpan(0, count) : default));
                }
            }
        }
    }

    public bool Send(ReadOnlySpan<byte> frame) => Send(frame, 0);

    /// <summary>
    /// Sends one frame; <paramref name="segmentSize"/> &gt; 0 (only with <see cref="SegmentationOffload"/>):
    /// the frame is one IPv4 TCP super-segment, checksums complete, that the kernel cuts into segments
    /// of that many payload bytes (TSO), each with the headers repeated and fixed up.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> frame, int segmentSize)
    {
        if (segmentSize > 0 && !SegmentationOffload) throw new InvalidOperationException($"{Name}: segmentation offload was not granted");
        if (!virtioHeader) return Write(frame);
        var header = new VirtioNetHeader();
        if (segmentSize > 0 && frame.Length > 14 + 20)
        {
            int ipHeader = (frame[14] & 0x0F) * 4;
            int tcpHeader = frame.Length > 14 + ipHeader + 12 ? (frame[14 + ipHeader + 12] >> 4) * 4 : 20;
            header.GsoType = VirtioNetHeader.GsoTcpV4;
            header.HeaderLength = (ushort)(14 + ipHeader + tcpHeader);
            header.SegmentSize = (ushort)segmentSize;
        }
        fixed (byte* p = frame)
        {
            var vectors = stackalloc IoVec[2];
            vectors[0] = new IoVec { Base = &header, Length = VirtioNetHeader.Size };
            vectors[1] = new IoVec { Base = p, Length = (nuint)frame.Length };
            while (true)
            {
                nint n = WriteVector(fd, vectors, 2);
                if (n == frame.Length + VirtioNetHeader.Size) { Interlocked.Increment(ref framesWritten); return true; }
                if (n < 0 && Marshal.GetLastPInvokeError() == EINTR) continue;
                Interlocked.Increment(ref writeErrors);
                return false;
            }
        }
    }

    private bool Write(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            while (true)
            {
                nint n = LibC.Write(fd, p, frame.Length);
                if (n == frame.Length) { Interlocked.Increment(ref framesWritten); return true; }
                if (n < 0 && Marshal.GetLastPInvokeError() == EINTR) continue;
                Interlocked.Increment(ref writeErrors);
                return false;
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        stopping = true;
        ulong one = 1;
        LibC.Write(wakeFd, (byte*)&one, sizeof(ulong));
        if (reader is not null && reader != Thread.CurrentThread) reader.Join();
        LibC.Close(fd);
        LibC.Close(wakeFd);
    }
}
