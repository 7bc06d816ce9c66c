using System.Buffers.Binary;
using UserStack.Sockets.Api;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.PacketdrillAdapter;

/// <summary>
/// The C side of packetdrill's calls on Linux x86-64: struct layouts (sockaddr_in, iovec, msghdr,
/// pollfd, timeval) and the few numbers BsdSockets' Linux face does not cover. Levels, option
/// names, flags, fcntl commands and ioctl requests pass straight through to that face
/// (<see cref="BsdSockets"/>, <see cref="Linux"/>), and errno needs no translation:
/// <see cref="Errno"/> uses Linux's numbers.
/// </summary>
internal static class LinuxAbi
{
    public const int AF_INET = Linux.AF_INET, AF_INET6 = 10;
    /// <summary>The most entries an iovec may have (UIO_MAXIOV).</summary>
    public const int UIO_MAXIOV = 1024;
    /// <summary>Not in <see cref="Errno"/>: the calls the adapter does not offer (epoll, pipe, splice).</summary>
    public const int ENOSYS = 38;

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
