using UserStack.Sockets.Api;
using UserStack.Transport;

namespace UserStack.Drill;

/// <summary>
/// The socket calls a script line can make, with Linux's numbers (levels, names, flags, commands,
/// errno): UserStack's <see cref="BsdSockets"/> behind <see cref="UserStackCalls"/>, the kernel's
/// sockets behind the differential tool's. <see cref="ScriptCalls"/> turns a line into one of
/// these calls and checks what it returned, the same way for both.
/// </summary>
public interface ISocketCalls
{
    /// <summary>Why the last call on this thread failed.</summary>
    Errno Errno { get; }
    int Socket(int domain, int type, int protocol);
    int Bind(int fd, Endpoint local);
    int Listen(int fd, int backlog);
    int Accept4(int fd, int flags);
    int Connect(int fd, Endpoint remote);
    int SendTo(int fd, byte[] data, int flags, Endpoint? to);
    int RecvFrom(int fd, byte[] buffer, int flags);
    int Writev(int fd, IReadOnlyList<ArraySegment<byte>> iov);
    int Readv(int fd, IReadOnlyList<ArraySegment<byte>> iov);
    int SendMsg(int fd, MessageHeader message, int flags);
    /// <summary>recvmsg(2): fills the buffers and <see cref="MessageHeader.MessageFlags"/> (msg_flags).</summary>
    int RecvMsg(int fd, MessageHeader message, int flags);
    int Close(int fd);
    int Shutdown(int fd, int how);
    int Fcntl(int fd, int cmd, long arg);
    int Ioctl(int fd, ulong request, ref int value);
    int SetSockOpt(int fd, int level, int name, byte[] value);
    /// <summary>getsockopt(2): at most <paramref name="length"/> bytes into <paramref name="value"/>, the length written back.</summary>
    int GetSockOpt(int fd, int level, int name, byte[] value, ref int length);
    int Poll(PollFd[] fds, int timeoutMilliseconds);
    /// <summary>select(2): each list (null: no set) keeps the ready descriptors; a null timeout waits forever.</summary>
    int Select(List<int>? read, List<int>? write, List<int>? except, long? timeoutMicroseconds);
}

/// <summary>UserStack's descriptor face as <see cref="ISocketCalls"/>.</summary>
public sealed class UserStackCalls(BsdSockets api) : ISocketCalls
{
    public Errno Errno => api.Errno;
    public int Socket(int domain, int type, int protocol) => api.Socket(domain, type, protocol);
    public int Bind(int fd, Endpoint local) => api.Bind(fd, local);
    public int Listen(int fd, int backlog) => api.Listen(fd, backlog);
    public int Accept4(int fd, int flags) => api.Accept4(fd, out _, flags);
    public int Connect(int fd, Endpoint remote) => api.Connect(fd, remote);
    public int SendTo(int fd, byte[] data, int flags, Endpoint? to) => api.SendTo(fd, data, flags, to);
    public int RecvFrom(int fd, byte[] buffer, int flags) => api.RecvFrom(fd, buffer, flags, out _);
    public int Writev(int fd, IReadOnlyList<ArraySegment<byte>> iov) => api.Writev(fd, iov);
    public int Readv(int fd, IReadOnlyList<ArraySegment<byte>> iov) => api.Readv(fd, iov);
    public int SendMsg(int fd, MessageHeader message, int flags) => api.SendMsg(fd, message, flags);
    public int RecvMsg(int fd, MessageHeader message, int flags) => api.RecvMsg(fd, message, flags);
    public int Close(int fd) => api.Close(fd);
    public int Shutdown(int fd, int how) => api.Shutdown(fd, how);
    public int Fcntl(int fd, int cmd, long arg) => api.Fcntl(fd, cmd, arg);
    public int Ioctl(int fd, ulong request, ref int value) => api.Ioctl(fd, request, ref value);
    public int SetSockOpt(int fd, int level, int name, byte[] value) => api.SetSockOpt(fd, level, name, value);
    public int GetSockOpt(int fd, int level, int name, byte[] value, ref int length) => api.GetSockOpt(fd, level, name, value, ref length);
    public int Poll(PollFd[] fds, int timeoutMilliseconds) => api.Poll(fds, timeoutMilliseconds);
    public int Select(List<int>? read, List<int>? write, List<int>? except, long? timeoutMicroseconds) =>
        api.Select(read, write, except, timeoutMicroseconds is { } us ? TimeSpan.FromTicks(us * TimeSpan.TicksPerMicrosecond) : null);
}
