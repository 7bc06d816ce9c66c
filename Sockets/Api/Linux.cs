namespace UserStack.Sockets.Api;

/// <summary>
/// The numbers of Linux x86-64's socket API, exactly as a C program sees them, for
/// <see cref="BsdSockets"/>'s C-like face and for script runners that resolve names from scripts
/// (<see cref="TryGetConstant"/>). Errors are <see cref="UserStack.Transport.Errno"/>, which has
/// Linux's numbers too.
/// </summary>
public static class Linux
{
    // Address family, socket types and flags (socket.h, net.h)
    public const int AF_INET = 2;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_RAW = 3;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;

    // Protocols (in.h)
    public const int IPPROTO_IP = 0;
    public const int IPPROTO_ICMP = 1;
    public const int IPPROTO_TCP = 6;
    public const int IPPROTO_UDP = 17;
    public const int IPPROTO_RAW = 255;

    // Option levels
    public const int SOL_SOCKET = 1;
    public const int SOL_IP = 0;
    public const int SOL_TCP = 6;

    // SOL_SOCKET options (asm-generic/socket.h)
    public const int SO_DEBUG = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_TYPE = 3;
    public const int SO_ERROR = 4;
    public const int SO_DONTROUTE = 5;
    public const int SO_BROADCAST = 6;
    public const int SO_SNDBUF = 7;
    public const int SO_RCVBUF = 8;
    public const int SO_KEEPALIVE = 9;
    public const int SO_OOBINLINE = 10;
    public const int SO_LINGER = 13;
    public const int SO_REUSEPORT = 15;
    public const int SO_RCVLOWAT = 18;
    public const int SO_SNDLOWAT = 19;
    public const int SO_RCVTIMEO = 20;
    public const int SO_SNDTIMEO = 21;
    public const int SO_ACCEPTCONN = 30;
    public const int SO_PROTOCOL = 38;
    public const int SO_DOMAIN = 39;

    // IPPROTO_TCP options (linux/tcp.h)
    public const int TCP_NODELAY = 1;
    public const int TCP_MAXSEG = 2;
    public const int TCP_CORK = 3;
    public const int TCP_KEEPIDLE = 4;
    public const int TCP_KEEPINTVL = 5;
    public const int TCP_KEEPCNT = 6;
    public const int TCP_INFO = 11;
    public const int TCP_QUICKACK = 12;
    public const int TCP_CONGESTION = 13;
    public const int TCP_USER_TIMEOUT = 18;

    // IPPROTO_IP options (linux/in.h)
    public const int IP_TOS = 1;
    public const int IP_TTL = 2;
    public const int IP_HDRINCL = 3;

    // send/recv flags (linux/socket.h)
    public const int MSG_OOB = 1;
    public const int MSG_PEEK = 2;
    public const int MSG_DONTROUTE = 4;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_EOR = 0x80;
    public const int MSG_WAITALL = 0x100;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_MORE = 0x8000;

    // fcntl (asm-generic/fcntl.h)
    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int FD_CLOEXEC = 1;
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_NONBLOCK = 0x800;

    // ioctl (asm-generic/ioctls.h, linux/sockios.h)
    public const int FIONREAD = 0x541B;
    public const int SIOCINQ = 0x541B;
    public const int SIOCOUTQ = 0x5411;
    public const int FIONBIO = 0x5421;
    public const int SIOCATMARK = 0x8905;

    // poll (asm-generic/poll.h)
    public const int POLLIN = 0x1;
    public const int POLLPRI = 0x2;
    public const int POLLOUT = 0x4;
    public const int POLLERR = 0x8;
    public const int POLLHUP = 0x10;
    public const int POLLNVAL = 0x20;
    public const int POLLRDNORM = 0x40;
    public const int POLLRDBAND = 0x80;
    public const int POLLWRNORM = 0x100;
    public const int POLLWRBAND = 0x200;
    public const int POLLRDHUP = 0x2000;

    // shutdown (linux/net.h)
    public const int SHUT_RD = 0;
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;

    // TCP states (include/net/tcp_states.h), as TCP_INFO's tcpi_state reports them
    public const int TCP_ESTABLISHED = 1;
    public const int TCP_SYN_SENT = 2;
    public const int TCP_SYN_RECV = 3;
    public const int TCP_FIN_WAIT1 = 4;
    public const int TCP_FIN_WAIT2 = 5;
    public const int TCP_TIME_WAIT = 6;
    public const int TCP_CLOSE = 7;
    public const int TCP_CLOSE_WAIT = 8;
    public const int TCP_LAST_ACK = 9;
    public const int TCP_LISTEN = 10;
    public const int TCP_CLOSING = 11;

    private static readonly Dictionary<string, long> byName = new(StringComparer.Ordinal)
    {
        [nameof(AF_INET)] = AF_INET,
        [nameof(SOCK_STREAM)] = SOCK_STREAM,
        [nameof(SOCK_DGRAM)] = SOCK_DGRAM,
        [nameof(SOCK_RAW)] = SOCK_RAW,
        [nameof(SOCK_NONBLOCK)] = SOCK_NONBLOCK,
        [nameof(SOCK_CLOEXEC)] = SOCK_CLOEXEC,
        [nameof(IPPROTO_IP)] = IPPROTO_IP,
        [nameof(IPPROTO_ICMP)] = IPPROTO_ICMP,
        [nameof(IPPROTO_TCP)] = IPPROTO_TCP,
        [nameof(IPPROTO_UDP)] = IPPROTO_UDP,
        [nameof(IPPROTO_RAW)] = IPPROTO_RAW,
        [nameof(SOL_SOCKET)] = SOL_SOCKET,
        [nameof(SOL_IP)] = SOL_IP,
        [nameof(SOL_TCP)] = SOL_TCP,
        [nameof(SO_DEBUG)] = SO_DEBUG,
        [nameof(SO_REUSEADDR)] = SO_REUSEADDR,
        [nameof(SO_TYPE)] = SO_TYPE,
        [nameof(SO_ERROR)] = SO_ERROR,
        [nameof(SO_DONTROUTE)] = SO_DONTROUTE,
        [nameof(SO_BROADCAST)] = SO_BROADCAST,
        [nameof(SO_SNDBUF)] = SO_SNDBUF,
        [nameof(SO_RCVBUF)] = SO_RCVBUF,
        [nameof(SO_KEEPALIVE)] = SO_KEEPALIVE,
        [nameof(SO_OOBINLINE)] = SO_OOBINLINE,
        [nameof(SO_LINGER)] = SO_LINGER,
        [nameof(SO_REUSEPORT)] = SO_REUSEPORT,
        [nameof(SO_RCVLOWAT)] = SO_RCVLOWAT,
        [nameof(SO_SNDLOWAT)] = SO_SNDLOWAT,
        [nameof(SO_RCVTIMEO)] = SO_RCVTIMEO,
        [nameof(SO_SNDTIMEO)] = SO_SNDTIMEO,
        [nameof(SO_ACCEPTCONN)] = SO_ACCEPTCONN,
        [nameof(SO_PROTOCOL)] = SO_PROTOCOL,
        [nameof(SO_DOMAIN)] = SO_DOMAIN,
        [nameof(TCP_NODELAY)] = TCP_NODELAY,
        [nameof(TCP_MAXSEG)] = TCP_MAXSEG,
        [nameof(TCP_CORK)] = TCP_CORK,
        [nameof(TCP_KEEPIDLE)] = TCP_KEEPIDLE,
        [nameof(TCP_KEEPINTVL)] = TCP_KEEPINTVL,
        [nameof(TCP_KEEPCNT)] = TCP_KEEPCNT,
        [nameof(TCP_INFO)] = TCP_INFO,
        [nameof(TCP_QUICKACK)] = TCP_QUICKACK,
        [nameof(TCP_CONGESTION)] = TCP_CONGESTION,
        [nameof(TCP_USER_TIMEOUT)] = TCP_USER_TIMEOUT,
        [nameof(IP_TOS)] = IP_TOS,
        [nameof(IP_TTL)] = IP_TTL,
        [nameof(IP_HDRINCL)] = IP_HDRINCL,
        [nameof(MSG_OOB)] = MSG_OOB,
        [nameof(MSG_PEEK)] = MSG_PEEK,
        [nameof(MSG_DONTROUTE)] = MSG_DONTROUTE,
        [nameof(MSG_TRUNC)] = MSG_TRUNC,
        [nameof(MSG_DONTWAIT)] = MSG_DONTWAIT,
        [nameof(MSG_EOR)] = MSG_EOR,
        [nameof(MSG_WAITALL)] = MSG_WAITALL,
        [nameof(MSG_NOSIGNAL)] = MSG_NOSIGNAL,
        [nameof(MSG_MORE)] = MSG_MORE,
        [nameof(F_GETFD)] = F_GETFD,
        [nameof(F_SETFD)] = F_SETFD,
        [nameof(F_GETFL)] = F_GETFL,
        [nameof(F_SETFL)] = F_SETFL,
        [nameof(FD_CLOEXEC)] = FD_CLOEXEC,
        [nameof(O_RDONLY)] = O_RDONLY,
        [nameof(O_WRONLY)] = O_WRONLY,
        [nameof(O_RDWR)] = O_RDWR,
        [nameof(O_NONBLOCK)] = O_NONBLOCK,
        [nameof(FIONREAD)] = FIONREAD,
        [nameof(SIOCINQ)] = SIOCINQ,
        [nameof(SIOCOUTQ)] = SIOCOUTQ,
        [nameof(FIONBIO)] = FIONBIO,
        [nameof(SIOCATMARK)] = SIOCATMARK,
        [nameof(POLLIN)] = POLLIN,
        [nameof(POLLPRI)] = POLLPRI,
        [nameof(POLLOUT)] = POLLOUT,
        [nameof(POLLERR)] = POLLERR,
        [nameof(POLLHUP)] = POLLHUP,
        [nameof(POLLNVAL)] = POLLNVAL,
        [nameof(POLLRDNORM)] = POLLRDNORM,
        [nameof(POLLRDBAND)] = POLLRDBAND,
        [nameof(POLLWRNORM)] = POLLWRNORM,
        [nameof(POLLWRBAND)] = POLLWRBAND,
        [nameof(POLLRDHUP)] = POLLRDHUP,
        [nameof(SHUT_RD)] = SHUT_RD,
        [nameof(SHUT_WR)] = SHUT_WR,
        [nameof(SHUT_RDWR)] = SHUT_RDWR,
        [nameof(TCP_ESTABLISHED)] = TCP_ESTABLISHED,
        [nameof(TCP_SYN_SENT)] = TCP_SYN_SENT,
        [nameof(TCP_SYN_RECV)] = TCP_SYN_RECV,
        [nameof(TCP_FIN_WAIT1)] = TCP_FIN_WAIT1,
        [nameof(TCP_FIN_WAIT2)] = TCP_FIN_WAIT2,
        [nameof(TCP_TIME_WAIT)] = TCP_TIME_WAIT,
        [nameof(TCP_CLOSE)] = TCP_CLOSE,
        [nameof(TCP_CLOSE_WAIT)] = TCP_CLOSE_WAIT,
        [nameof(TCP_LAST_ACK)] = TCP_LAST_ACK,
        [nameof(TCP_LISTEN)] = TCP_LISTEN,
        [nameof(TCP_CLOSING)] = TCP_CLOSING,
    };

    /// <summary>Every name above with its value (no reflection: this also runs under NativeAOT).</summary>
    public static IReadOnlyDictionary<string, long> Constants => byName;

    /// <summary>The value of a constant named as in C (e.g. "SO_RCVBUF"); false for a name we do not know.</summary>
    /// Errno names ("EAGAIN") resolve too, to their Linux numbers.
    public static bool TryGetConstant(string name, out long value)
    {
        if (byName.TryGetValue(name, out value)) return true;
        if (name.StartsWith('E') && Enum.TryParse<UserStack.Transport.Errno>(name, ignoreCase: false, out var e) && Enum.IsDefined(e) && e != UserStack.Transport.Errno.Ok)
        {
            value = (long)e;
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>Linux's tcpi_state numbering of a connection state (include/net/tcp_states.h).</summary>
    public static int TcpStateNumber(UserStack.Tcp.TcpState state) => state switch
    {
        UserStack.Tcp.TcpState.Established => TCP_ESTABLISHED,
        UserStack.Tcp.TcpState.SynSent => TCP_SYN_SENT,
        UserStack.Tcp.TcpState.SynReceived => TCP_SYN_RECV,
        UserStack.Tcp.TcpState.FinWait1 => TCP_FIN_WAIT1,
        UserStack.Tcp.TcpState.FinWait2 => TCP_FIN_WAIT2,
        UserStack.Tcp.TcpState.TimeWait => TCP_TIME_WAIT,
        UserStack.Tcp.TcpState.CloseWait => TCP_CLOSE_WAIT,
        UserStack.Tcp.TcpState.LastAck => TCP_LAST_ACK,
        UserStack.Tcp.TcpState.Listen => TCP_LISTEN,
        UserStack.Tcp.TcpState.Closing => TCP_CLOSING,
        _ => TCP_CLOSE,
    };
}
