using System.Buffers.Binary;
using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.PacketdrillAdapter;

/// <summary>
/// The Linux x86-64 numbers packetdrill passes (it compiles scripts against the host's headers),
/// and their translation to the typed BsdSockets API. Errno values need none: <see cref="Errno"/>
/// already uses Linux's numbers.
/// </summary>
internal static class LinuxAbi
{
    public const int AF_INET = 2, AF_INET6 = 10;
    public const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3;
    public const int SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;

    public const int SOL_SOCKET = 1, IPPROTO_IP = 0, IPPROTO_TCP = 6, IPPROTO_UDP = 17;
    public const int SO_REUSEADDR = 2, SO_TYPE = 3, SO_ERROR = 4, SO_BROADCAST = 6, SO_SNDBUF = 7, SO_RCVBUF = 8,
        SO_KEEPALIVE = 9, SO_LINGER = 13, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21;
    public const int TCP_NODELAY = 1, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5, TCP_KEEPCNT = 6, TCP_CONGESTION = 13;
    public const int IP_TTL = 2;

    public const int F_GETFL = 3, F_SETFL = 4, F_GETFD = 1, F_SETFD = 2;
    public const int O_NONBLOCK = 0x800;
    public const ulong FIONREAD = 0x541B, FIONBIO = 0x5421;

    public const int MSG_OOB = 0x1, MSG_PEEK = 0x2, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40;

    public const short POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20,
        POLLRDNORM = 0x40, POLLWRNORM = 0x100;

    public const int ENOSYS = 38;

    /// <summary>socket(2)'s type argument: the kind and the flags ORed into it.</summary>
    public static bool TrySocketType(int type, out SocketType kind, out bool nonBlocking)
    {
        nonBlocking = (type & SOCK_NONBLOCK) != 0;
        kind = (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) switch
        {
            SOCK_STREAM => SocketType.Stream,
            SOCK_DGRAM => SocketType.Dgram,
            SOCK_RAW => SocketType.Raw,
            _ => SocketType.Unknown,
        };
        return kind != SocketType.Unknown;
    }

    /// <summary>MSG_* bits to the flags UserSocket reads (MSG_PEEK and MSG_OOB share .NET's values; MSG_DONTWAIT is passed as Linux's 0x40).</summary>
    public static SocketFlags MessageFlags(int flags)
    {
        var result = (SocketFlags)(flags & (MSG_OOB | MSG_PEEK | MSG_DONTWAIT));
        if ((flags & MSG_TRUNC) != 0) result |= SocketFlags.Truncated;
        return result;
    }

    /// <summary>(level, optname) to the typed option, for the options whose value is an int.</summary>
    public static bool TryIntOption(int level, int name, out SocketOptionLevel l, out SocketOptionName n)
    {
        (l, n) = (level, name) switch
        {
            (SOL_SOCKET, SO_REUSEADDR) => (SocketOptionLevel.Socket, SocketOptionName.ReuseAddress),
            (SOL_SOCKET, SO_TYPE) => (SocketOptionLevel.Socket, SocketOptionName.Type),
            (SOL_SOCKET, SO_ERROR) => (SocketOptionLevel.Socket, SocketOptionName.Error),
            (SOL_SOCKET, SO_BROADCAST) => (SocketOptionLevel.Socket, SocketOptionName.Broadcast),
            (SOL_SOCKET, SO_SNDBUF) => (SocketOptionLevel.Socket, SocketOptionName.SendBuffer),
            (SOL_SOCKET, SO_RCVBUF) => (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer),
            (SOL_SOCKET, SO_KEEPALIVE) => (SocketOptionLevel.Socket, SocketOptionName.KeepAlive),
            (IPPROTO_TCP, TCP_NODELAY) => (SocketOptionLevel.Tcp, SocketOptionName.NoDelay),
            (IPPROTO_TCP, TCP_KEEPIDLE) => (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime),
            (IPPROTO_TCP, TCP_KEEPINTVL) => (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval),
            (IPPROTO_TCP, TCP_KEEPCNT) => (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount),
            (IPPROTO_IP, IP_TTL) => (SocketOptionLevel.IP, SocketOptionName.IpTimeToLive),
            _ => ((SocketOptionLevel)(-1), (SocketOptionName)(-1)),
        };
        return (int)l != -1;
    }

    /// <summary>struct sockaddr_in: family (host order), port and address (network order), 8 zero bytes.</summary>
    public const int SockaddrInLength = 16;

    public static unsafe Errno ReadSockaddr(byte* addr, uint length, out Endpoint endpoint)
    {
        endpoint = default;
        if (addr is null) return Errno.EFAULT;
        if (length < 2) return Errno.EINVAL;
        ushort family = *(ushort*)addr;
        if (family == AF_INET6) return Errno.EAFNOSUPPORT;
        if (family != AF_INET) return Errno.EAFNOSUPPORT;
        if (length < SockaddrInLength) return Errno.EINVAL;
        var bytes = new ReadOnlySpan<byte>(addr, SockaddrInLength);
        endpoint = new Endpoint(new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(bytes[4..])), BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]));
        return Errno.Ok;
    }

    /// <summary>Writes a sockaddr_in as the kernel does: truncated to *length, and *length set to the full size.</summary>
    public static unsafe void WriteSockaddr(Endpoint endpoint, byte* addr, uint* length)
    {
        if (addr is null || length is null) return;
        Span<byte> full = stackalloc byte[SockaddrInLength];
        full.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(full, AF_INET);
        BinaryPrimitives.WriteUInt16BigEndian(full[2..], endpoint.Port);
        endpoint.Address.Write(full[4..]);
        int n = (int)Math.Min(*length, (uint)SockaddrInLength);
        full[..n].CopyTo(new Span<byte>(addr, n));
        *length = SockaddrInLength;
    }

    /// <summary>struct iovec { void *iov_base; size_t iov_len; }.</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    public struct IoVec { public nint Base; public nuint Length; }

    /// <summary>struct msghdr on x86-64.</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public nint Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct pollfd { int fd; short events; short revents; }.</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events; public short Revents; }

    /// <summary>struct timeval { time_t tv_sec; suseconds_t tv_usec; } (both 64-bit on x86-64).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    public struct TimeVal { public long Seconds; public long Microseconds; }
}
