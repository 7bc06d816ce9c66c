using System.Runtime.InteropServices;
using System.Text;

namespace UserStack.Differential;

/// <summary>
/// The BSD socket calls a script makes, as raw libc calls on kernel sockets, so that results and
/// errno values are the kernel's own (System.Net.Sockets would translate and block). Every call
/// returns (result, errno); errno is 0 when the call succeeded.
/// </summary>
internal static unsafe partial class KernelSockets
{
    public const int AF_INET = 2, SOCK_STREAM = 1, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1, IPPROTO_TCP = 6;
    public const int SO_REUSEADDR = 2, SO_ERROR = 4, SO_KEEPALIVE = 9;
    public const int TCP_NODELAY = 1, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5, TCP_KEEPCNT = 6, TCP_CONGESTION = 13;
    public const int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
    private const int MSG_NOSIGNAL = 0x4000, MSG_DONTWAIT = 0x40;

    [StructLayout(LayoutKind.Sequential)]
    private struct SockAddrIn
    {
        public ushort Family;
        public ushort PortBigEndian;
        public uint AddressBigEndian;
        public ulong Zero;
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
    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint SendCall(int fd, byte* buffer, nint length, int flags);
    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint RecvCall(int fd, byte* buffer, nint length, int flags);
    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int ShutdownCall(int fd, int how);
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseCall(int fd);
    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOptCall(int fd, int level, int name, void* value, int length);
    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetSockOptCall(int fd, int level, int name, void* value, int* length);

    private static (long, int) Result(long r) => r < 0 ? (-1, Marshal.GetLastPInvokeError()) : (r, 0);

    private static SockAddrIn Address(uint addressHostOrder, ushort port) => new()
    {
        Family = AF_INET,
        PortBigEndian = (ushort)(port << 8 | port >> 8),
        AddressBigEndian = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(addressHostOrder),
    };

    /// <summary>A non-blocking TCP socket of the calling thread's network namespace.</summary>
    public static (long, int) Socket() => Result(SocketCall(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

    public static (long, int) Bind(int fd, uint address, ushort port)
    {
        var a = Address(address, port);
        return Result(BindCall(fd, &a, sizeof(SockAddrIn)));
    }

    public static (long, int) Listen(int fd, int backlog) => Result(ListenCall(fd, backlog));

    public static (long, int) Accept(int fd) => Result(Accept4Call(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC));

    public static (long, int) Connect(int fd, uint address, ushort port)
    {
        var a = Address(address, port);
        return Result(ConnectCall(fd, &a, sizeof(SockAddrIn)));
    }

    public static ushort LocalPort(int fd)
    {
        SockAddrIn a;
        int length = sizeof(SockAddrIn);
        if (GetSockNameCall(fd, &a, &length) != 0) return 0;
        return (ushort)(a.PortBigEndian << 8 | a.PortBigEndian >> 8);
    }

    public static (long, int) Write(int fd, int count)
    {
        var data = new byte[count];
        fixed (byte* p = data) return Result(SendCall(fd, p, count, MSG_NOSIGNAL | MSG_DONTWAIT));
    }

    public static (long, int) Read(int fd, int count)
    {
        var data = new byte[Math.Max(count, 1)];
        fixed (byte* p = data) return Result(RecvCall(fd, p, count, MSG_DONTWAIT));
    }

    public static (long, int) Shutdown(int fd, int how) => Result(ShutdownCall(fd, how));

    public static (long, int) Close(int fd) => Result(CloseCall(fd));

    public static (long, int) SetInt(int fd, int level, int name, int value) => Result(SetSockOptCall(fd, level, name, &value, sizeof(int)));

    public static (long, int) SetString(int fd, int level, int name, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        fixed (byte* p = bytes) return Result(SetSockOptCall(fd, level, name, p, bytes.Length));
    }

    public static (long, int) GetInt(int fd, int level, int name, out int value)
    {
        int v = 0, length = sizeof(int);
        var r = Result(GetSockOptCall(fd, level, name, &v, &length));
        value = v;
        return r;
    }
}
