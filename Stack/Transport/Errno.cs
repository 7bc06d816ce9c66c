namespace UserStack.Transport;

/// <summary>
/// Errors of the socket calls, named and numbered as Linux's errno (asm-generic/errno.h), so that
/// a learner can read them beside the C API. <see cref="ErrnoExtensions.ToSocketError"/> maps
/// them to .NET's <see cref="System.Net.Sockets.SocketError"/>.
/// </summary>
public enum Errno
{
    Ok = 0,
    EPERM = 1,
    ENOENT = 2,     // Linux: TCP_CONGESTION with an unknown algorithm
    EINTR = 4,
    EBADF = 9,
    EAGAIN = 11,
    EACCES = 13,
    EFAULT = 14,
    ENOTTY = 25,    // Linux: an ioctl request a socket does not know
    EINVAL = 22,
    EMFILE = 24,
    EPIPE = 32,
    EDOM = 33,      // Linux: SO_RCVTIMEO/SO_SNDTIMEO with tv_usec outside 0..999999
    ENOTSOCK = 88,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTO = 71,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETUNREACH = 101,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ESHUTDOWN = 108,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTUNREACH = 113,
    EALREADY = 114,
    EINPROGRESS = 115,
}

public static class ErrnoExtensions
{
    public static System.Net.Sockets.SocketError ToSocketError(this Errno e) => e switch
    {
        Errno.Ok => System.Net.Sockets.SocketError.Success,
        Errno.EINTR => System.Net.Sockets.SocketError.Interrupted,
        Errno.EBADF or Errno.ENOTSOCK => System.Net.Sockets.SocketError.NotSocket,
        Errno.EAGAIN => System.Net.Sockets.SocketError.WouldBlock,
        Errno.EACCES or Errno.EPERM => System.Net.Sockets.SocketError.AccessDenied,
        Errno.EFAULT => System.Net.Sockets.SocketError.Fault,
        Errno.EINVAL => System.Net.Sockets.SocketError.InvalidArgument,
        Errno.EMFILE => System.Net.Sockets.SocketError.TooManyOpenSockets,
        Errno.EPIPE => System.Net.Sockets.SocketError.Shutdown,
        Errno.EDESTADDRREQ => System.Net.Sockets.SocketError.DestinationAddressRequired,
        Errno.EMSGSIZE => System.Net.Sockets.SocketError.MessageSize,
        Errno.EPROTOTYPE => System.Net.Sockets.SocketError.ProtocolType,
        Errno.ENOPROTOOPT => System.Net.Sockets.SocketError.ProtocolOption,
        Errno.EPROTONOSUPPORT => System.Net.Sockets.SocketError.ProtocolNotSupported,
        Errno.ESOCKTNOSUPPORT => System.Net.Sockets.SocketError.SocketNotSupported,
        Errno.EOPNOTSUPP => System.Net.Sockets.SocketError.OperationNotSupported,
        Errno.EAFNOSUPPORT => System.Net.Sockets.SocketError.AddressFamilyNotSupported,
        Errno.EADDRINUSE => System.Net.Sockets.SocketError.AddressAlreadyInUse,
        Errno.EADDRNOTAVAIL => System.Net.Sockets.SocketError.AddressNotAvailable,
        Errno.ENETUNREACH => System.Net.Sockets.SocketError.NetworkUnreachable,
        Errno.ECONNABORTED => System.Net.Sockets.SocketError.ConnectionAborted,
        Errno.ECONNRESET => System.Net.Sockets.SocketError.ConnectionReset,
        Errno.ENOBUFS => System.Net.Sockets.SocketError.NoBufferSpaceAvailable,
        Errno.EISCONN => System.Net.Sockets.SocketError.IsConnected,
        Errno.ENOTCONN => System.Net.Sockets.SocketError.NotConnected,
        Errno.ESHUTDOWN => System.Net.Sockets.SocketError.Shutdown,
        Errno.ETIMEDOUT => System.Net.Sockets.SocketError.TimedOut,
        Errno.ECONNREFUSED => System.Net.Sockets.SocketError.ConnectionRefused,
        Errno.EHOSTUNREACH => System.Net.Sockets.SocketError.HostUnreachable,
        Errno.EALREADY => System.Net.Sockets.SocketError.AlreadyInProgress,
        Errno.EINPROGRESS => System.Net.Sockets.SocketError.InProgress,
        _ => System.Net.Sockets.SocketError.SocketError,
    };
}
