using System.Runtime.InteropServices;
using System.Text;
using UserStack.Drill;
using UserStack.Sockets.Api;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Differential;

/// <summary>
/// The socket calls a script makes, as raw libc calls on kernel sockets of the calling thread's
/// network namespace, so that results, errno values and the values handed back (getsockopt,
/// ioctl, poll's revents, recvmsg's msg_flags, fcntl's flags) are the kernel's own
/// (System.Net.Sockets would translate and block). A socket keeps the flags the script gives it
/// (F_GETFL tells the truth), but no call waits: receives and sends go with MSG_DONTWAIT (and
/// MSG_NOSIGNAL), readv/writev as recvmsg/sendmsg with it, and accept/connect on a blocking
/// socket are made with O_NONBLOCK set for the call, so a script's "would block" shows as EAGAIN
/// (or EINPROGRESS) instead of hanging the runner. poll waits at most 2 s.
/// Instances are for one thread (errno is kept per instance).
/// </summary>
public sealed unsafe partial class KernelSockets : ISocketCalls
{
    public const int AF_INET = 2, SOCK_STREAM = 1, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1, IPPROTO_TCP = 6;
    public const int TCP_CONGESTION = 13;
    private const int MSG_NOSIGNAL = 0x4000, MSG_DONTWAIT = 0x40, F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0x800;
    private const int LongestPoll = 2000;

    /// <summary>
    /// While true, receives, sends, accept and connect wait as the socket's flags and SO_RCVTIMEO /
    /// SO_SNDTIMEO say (a script's blocking `START...END` call); otherwise they never wait.
    /// </summary>
    public bool MayWait { get; set; }
    private int DontWait => MayWait ? 0 : MSG_DONTWAIT;

    /// <summary>Sets TCP_CONGESTION to this on every new TCP socket (null: the namespace's default).</summary>
    public string? CongestionControl { get; init; }

    private Errno errno;
    public Errno Errno => errno;

    [StructLayout(LayoutKind.Sequential)]
    private struct SockAddrIn
    {
        public ushort Family;
        public ushort PortBigEndian;
        public uint AddressBigEndian;
        public ulong Zero;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public int NameLength;
        public IoVec* Iov;
        public nint IovLength;
        public void* Control;
        public nint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int SocketCall(int domain, int type, int protocol);
    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int BindCall(int fd, SockAddrIn* address, int length);
    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    private static partial int ListenCall(int fd, int backlog);
    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4Call(int fd, SockAddrIn* address, int* length, int flags);
    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int ConnectCall(int fd, SockAddrIn* address, int length);
    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    private static partial int GetSockNameCall(int fd, SockAddrIn* address, int* length);
    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static partial nint SendToCall(int fd, byte* buffer, nint length, int flags, SockAddrIn* address, int addressLength);
    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)]
    private static partial nint RecvFromCall(int fd, byte* buffer, nint length, int flags, SockAddrIn* address, int* addressLength);
    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsgCall(int fd, MsgHdr* message, int flags);
    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsgCall(int fd, MsgHdr* message, int flags);
    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int ShutdownCall(int fd, int how);
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseCall(int fd);
    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOptCall(int fd, int level, int name, void* value, int length);
    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetSockOptCall(int fd, int level, int name, void* value, int* length);
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlCall(int fd, int cmd, long arg);
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlCall(int fd, nuint request, int* value);
    [LibraryImport("libc", EntryPoint = "select", SetLastError = true)]
    private static partial int SelectCall(int nfds, ulong* read, ulong* write, ulong* except, long* timeval);
    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int PollCall(PollFd* fds, nuint count, int timeout);

    private int Result(long r)
    {
        errno = r < 0 ? (Errno)Marshal.GetLastPInvokeError() : Errno.Ok;
        return (int)r;
    }

    private static SockAddrIn Address(Endpoint e) => new()
    {
        Family = AF_INET,
        PortBigEndian = (ushort)(e.Port << 8 | e.Port >> 8),
        AddressBigEndian = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(e.Address.Value),
    };

    public int Socket(int domain, int type, int protocol)
    {
        int fd = Result(SocketCall(domain, type, protocol));
        if (fd >= 0 && (type & 0xf) == SOCK_STREAM && CongestionControl is { } name && SetString(fd, IPPROTO_TCP, TCP_CONGESTION, name) < 0)
            throw new InvalidOperationException($"setsockopt TCP_CONGESTION {name} failed: {errno}");
        return fd;
    }

    public int Bind(int fd, Endpoint local)
    {
        var a = Address(local);
        return Result(BindCall(fd, &a, sizeof(SockAddrIn)));
    }

    public int Listen(int fd, int backlog) => Result(ListenCall(fd, backlog));

    public int Accept4(int fd, int flags)
    {
        var saved = NotWaiting(fd);
        int r = Result(Accept4Call(fd, null, null, flags));
        Restore(fd, saved);
        return r;
    }

    public int Connect(int fd, Endpoint remote)
    {
        var a = Address(remote);
        var saved = NotWaiting(fd);
        int r = Result(ConnectCall(fd, &a, sizeof(SockAddrIn)));
        Restore(fd, saved);
        return r;
    }

    /// <summary>Sets O_NONBLOCK for a call that may wait; returns the flags to restore, or -1 when there is nothing to restore.</summary>
    private int NotWaiting(int fd)
    {
        if (MayWait) return -1;
        int flags = FcntlCall(fd, F_GETFL, 0);
        if (flags < 0 || (flags & O_NONBLOCK) != 0) return -1;
        FcntlCall(fd, F_SETFL, flags | O_NONBLOCK);
        return flags;
    }

    private static void Restore(int fd, int flags)
    {
        if (flags >= 0) FcntlCall(fd, F_SETFL, flags);
    }

    public int SendTo(int fd, byte[] data, int flags, Endpoint? to)
    {
        var a = to is { } t ? Address(t) : default;
        fixed (byte* p = data)
            return Result(SendToCall(fd, p, data.Length, flags | MSG_NOSIGNAL | DontWait, to is null ? null : &a, to is null ? 0 : sizeof(SockAddrIn)));
    }

    public int RecvFrom(int fd, byte[] buffer, int flags)
    {
        SockAddrIn a;
        int length = sizeof(SockAddrIn);
        fixed (byte* p = buffer) return Result(RecvFromCall(fd, p, buffer.Length, flags | DontWait, &a, &length));
    }

    public int Writev(int fd, IReadOnlyList<ArraySegment<byte>> iov) => SendMsg(fd, new MessageHeader { Buffers = iov.ToList() }, 0);
    public int Readv(int fd, IReadOnlyList<ArraySegment<byte>> iov) => RecvMsg(fd, new MessageHeader { Buffers = iov.ToList() }, 0);

    public int SendMsg(int fd, MessageHeader message, int flags) => Message(fd, message, flags | MSG_NOSIGNAL | DontWait, receive: false);

    public int RecvMsg(int fd, MessageHeader message, int flags) => Message(fd, message, flags | DontWait, receive: true);

    /// <summary>sendmsg/recvmsg with the buffers as an iovec array over one pinned copy (copied back after a receive), and msg_flags and the address read back.</summary>
    private int Message(int fd, MessageHeader message, int flags, bool receive)
    {
        var buffers = message.Buffers;
        var joined = new byte[Math.Max(1, buffers.Sum(b => b.Count))];
        int at = 0;
        if (!receive) foreach (var b in buffers) { b.AsSpan().CopyTo(joined.AsSpan(at)); at += b.Count; }
        var vectors = new IoVec[Math.Max(1, buffers.Count)];
        SockAddrIn a = !receive && message.Name is { } n ? Address(n) : default;
        var h = new MsgHdr { NameLength = receive || message.Name is not null ? sizeof(SockAddrIn) : 0, IovLength = buffers.Count };
        int r;
        fixed (byte* p = joined)
        fixed (IoVec* v = vectors)
        {
            at = 0;
            for (int i = 0; i < buffers.Count; i++) { v[i] = new IoVec { Base = p + at, Length = buffers[i].Count }; at += buffers[i].Count; }
            h.Iov = v;
            h.Name = h.NameLength == 0 ? null : &a;
            r = Result(receive ? RecvMsgCall(fd, &h, flags) : SendMsgCall(fd, &h, flags));
        }
        if (!receive || r < 0) return r;
        message.MessageFlags = h.Flags;
        message.Name = h.NameLength >= 8 && a.Family == AF_INET
            ? new Endpoint(new Ipv4Address(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(a.AddressBigEndian)), (ushort)(a.PortBigEndian << 8 | a.PortBigEndian >> 8))
            : null;
        at = 0;
        foreach (var b in buffers)
        {
            int count = Math.Min(b.Count, r - at);
            if (count <= 0) break;
            joined.AsSpan(at, count).CopyTo(b.AsSpan());
            at += count;
        }
        return r;
    }

    public int Close(int fd) => Result(CloseCall(fd));
    public int Shutdown(int fd, int how) => Result(ShutdownCall(fd, how));
    public int Fcntl(int fd, int cmd, long arg) => Result(FcntlCall(fd, cmd, arg));

    public int Ioctl(int fd, ulong request, ref int value)
    {
        int v = value;
        int r = Result(IoctlCall(fd, (nuint)request, &v));
        value = v;
        return r;
    }

    /// <summary>setsockopt(2) as given, except that TCP_CONGESTION "newreno" (UserStack's name) is Linux's "reno".</summary>
    public int SetSockOpt(int fd, int level, int name, byte[] value)
    {
        if (level == IPPROTO_TCP && name == TCP_CONGESTION && Encoding.ASCII.GetString(value) == "newreno") value = Encoding.ASCII.GetBytes("reno");
        fixed (byte* p = value) return Result(SetSockOptCall(fd, level, name, value.Length == 0 ? null : p, value.Length));
    }

    public int SetString(int fd, int level, int name, string value) => SetSockOpt(fd, level, name, Encoding.ASCII.GetBytes(value));

    public int GetSockOpt(int fd, int level, int name, byte[] value, ref int length)
    {
        int n = Math.Min(length, value.Length);
        int r;
        fixed (byte* p = value) r = Result(GetSockOptCall(fd, level, name, p, &n));
        if (r == 0) length = n;
        return r;
    }

    public int Poll(PollFd[] fds, int timeoutMilliseconds)
    {
        int timeout = timeoutMilliseconds < 0 || timeoutMilliseconds > LongestPoll ? LongestPoll : timeoutMilliseconds;
        fixed (PollFd* p = fds) return Result(PollCall(p, (nuint)fds.Length, timeout));
    }

    /// <summary>select(2) over bitmaps as large as the highest descriptor needs; waits at most as long as poll does.</summary>
    public int Select(List<int>? read, List<int>? write, List<int>? except, long? timeoutMicroseconds)
    {
        var lists = new[] { read, write, except };
        int nfds = lists.Where(l => l is not null).SelectMany(l => l!).DefaultIfEmpty(-1).Max() + 1;
        int words = Math.Max(1, (nfds + 63) / 64);
        var bits = new ulong[3 * words];
        for (int i = 0; i < 3; i++)
            foreach (var fd in lists[i] ?? []) bits[i * words + fd / 64] |= 1UL << (fd % 64);
        long limit = LongestPoll * 1000L;
        long us = timeoutMicroseconds is { } t && t <= limit ? t : limit;
        long* timeval = stackalloc long[2] { us / 1_000_000, us % 1_000_000 };
        int r;
        fixed (ulong* b = bits)
            r = Result(SelectCall(nfds, read is null ? null : b, write is null ? null : b + words, except is null ? null : b + 2 * words, timeval));
        if (r < 0) return r;
        for (int i = 0; i < 3; i++)
        {
            if (lists[i] is not { } list) continue;
            var given = list.ToList();
            list.Clear();
            foreach (var fd in given) if ((bits[i * words + fd / 64] & (1UL << (fd % 64))) != 0) list.Add(fd);
        }
        return r;
    }

    /// <summary>The local port of a socket (its ephemeral port after connect), 0 if unknown.</summary>
    public static ushort LocalPort(int fd)
    {
        SockAddrIn a;
        int length = sizeof(SockAddrIn);
        if (GetSockNameCall(fd, &a, &length) != 0) return 0;
        return (ushort)(a.PortBigEndian << 8 | a.PortBigEndian >> 8);
    }
}
