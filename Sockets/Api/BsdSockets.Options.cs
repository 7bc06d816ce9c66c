using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using UserStack.Tcp;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

// setsockopt(2) and getsockopt(2) with Linux's levels, names and C layouts: an int option is a
// host-order C int (x86-64: little-endian), SO_LINGER a struct linger {int l_onoff; int l_linger;},
// SO_RCVTIMEO/SO_SNDTIMEO a struct timeval {long tv_sec; long tv_usec;}, TCP_CONGESTION a
// NUL-padded name, TCP_INFO a struct tcp_info. References: man 7 socket, man 7 ip, man 7 tcp and
// the kernel's sock_setsockopt, do_ip_setsockopt and do_tcp_setsockopt.
public sealed partial class BsdSockets
{
    // Linux's limits for SO_SNDBUF and SO_RCVBUF: net.core.wmem_max/rmem_max (212992 by default)
    // cap the value asked, which is then doubled; SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF are the floors.
    public const int BufferMaximum = 212992;
    public const int MinimumSendBuffer = 4608;
    public const int MinimumReceiveBuffer = 2304;
    /// <summary>TCP_MAXSEG bounds (Linux's TCP_MIN_MSS and MAX_TCP_WINDOW) and its default before a connection (TCP_MSS_DEFAULT).</summary>
    public const int MinimumUserMss = 88, MaximumUserMss = 32767, DefaultMss = 536;
    /// <summary>The size of struct tcp_info written here (Linux 6.x: up to tcpi_total_rto_time).</summary>
    public const int TcpInfoLength = 248;
    private const int TimevalLength = 16, LingerLength = 8, CongestionNameLength = 16;

    /// <summary>
    /// setsockopt(2) with Linux's numbers. Errors as Linux: EBADF, EINVAL (a value too short for
    /// its option, or out of range), EDOM (a timeval's tv_usec), ENOENT (an unknown congestion
    /// control), ENOPROTOOPT (an unknown option or level, a TCP option on a non-TCP socket).
    /// </summary>
    public int SetSockOpt(int fd, int level, int name, ReadOnlySpan<byte> value)
    {
        if (!TryGet(fd, out var s)) return -1;
        return level switch
        {
            Linux.SOL_SOCKET => Result(SetSocketOption(s, name, value)),
            Linux.SOL_IP => Result(SetIpOption(s, name, value)),
            Linux.SOL_TCP => Result(s.Type != SocketType.Stream ? Errno.ENOPROTOOPT : SetTcpOption(s, name, value)),
            _ => Fail(Errno.ENOPROTOOPT),
        };
    }

    /// <summary>setsockopt(2) of an int option (the value as a host-order C int).</summary>
    public int SetSockOpt(int fd, int level, int name, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, in value);
        return SetSockOpt(fd, level, name, bytes);
    }

    /// <summary>
    /// getsockopt(2) with Linux's numbers: writes at most <paramref name="length"/> bytes of the
    /// option's C value (truncating, as Linux) and sets <paramref name="length"/> to how many it wrote.
    /// </summary>
    public int GetSockOpt(int fd, int level, int name, Span<byte> value, ref int length)
    {
        if (!TryGet(fd, out var s)) return -1;
        if (length < 0) return Fail(Errno.EINVAL);
        Span<byte> full = stackalloc byte[TcpInfoLength];
        full.Clear();
        int size;
        var e = level switch
        {
            Linux.SOL_SOCKET => GetSocketOption(s, name, full, out size),
            Linux.SOL_IP => GetIpOption(s, name, full, out size),
            Linux.SOL_TCP => s.Type != SocketType.Stream ? NoOption(out size) : GetTcpOption(s, name, full, out size),
            _ => NoOption(out size),
        };
        if (e != Errno.Ok) return Fail(e);
        // do_ip_getsockopt: a small option asked into fewer than 4 bytes comes back as one byte.
        if (level == Linux.SOL_IP && size == 4 && length is > 0 and < 4 && MemoryMarshal.Read<int>(full) is >= 0 and <= 255) size = 1;
        int n = Math.Min(Math.Min(length, size), value.Length);
        full[..n].CopyTo(value);
        length = n;
        return 0;

        static Errno NoOption(out int size) { size = 0; return Errno.ENOPROTOOPT; }
    }

    /// <summary>getsockopt(2) of an int option, typed.</summary>
    public int GetSockOptInt(int fd, int level, int name, out int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        int length = 4;
        value = 0;
        int r = GetSockOpt(fd, level, name, bytes, ref length);
        if (r == 0) value = length >= 4 ? MemoryMarshal.Read<int>(bytes) : bytes[0];
        return r;
    }

    private static bool ReadInt(ReadOnlySpan<byte> value, out int v)
    {
        v = value.Length >= 4 ? MemoryMarshal.Read<int>(value) : 0;
        return value.Length >= 4;
    }

    private static void WriteInt(Span<byte> into, int v, out int size)
    {
        MemoryMarshal.Write(into, in v);
        size = 4;
    }

    // ---- SOL_SOCKET --------------------------------------------------------------------------

    private static Errno SetSocketOption(UserSocket s, int name, ReadOnlySpan<byte> value)
    {
        if (!ReadInt(value, out int v)) return Errno.EINVAL; // sock_setsockopt: optlen < sizeof(int)
        var x = s.Extras;
        bool on = v != 0;
        switch (name)
        {
            case Linux.SO_DEBUG: x.Debug = on; return Errno.Ok;
            case Linux.SO_REUSEADDR: s.ReuseAddress = on; return Errno.Ok;
            case Linux.SO_REUSEPORT: x.ReusePort = on; return Errno.Ok;
            case Linux.SO_DONTROUTE: x.DontRoute = on; return Errno.Ok;
            case Linux.SO_BROADCAST: s.Broadcast = on; x.Broadcast = on; return Errno.Ok;
            case Linux.SO_KEEPALIVE: s.KeepAlive = on; x.KeepAlive = on; return Errno.Ok;
            case Linux.SO_OOBINLINE: s.SetOobInline(on); return Errno.Ok;
            case Linux.SO_SNDBUF:
            case Linux.SO_RCVBUF:
            {
                bool receive = name == Linux.SO_RCVBUF;
                // sock_setsockopt: min_t(u32, val, max) then doubled, floored (a negative value is huge as u32).
                int asked = (int)Math.Min((uint)v, BufferMaximum);
                int reported = Math.Max(asked * 2, receive ? MinimumReceiveBuffer : MinimumSendBuffer);
                // The doubled half is Linux's bookkeeping; a TCP buffer holds the half asked for, a datagram queue the whole.
                s.TrySetBufferSize(receive, s.Type == SocketType.Stream ? reported / 2 : reported);
                if (receive) x.ReportedReceiveBuffer = reported; else x.ReportedSendBuffer = reported;
                return Errno.Ok;
            }
            case Linux.SO_RCVLOWAT: x.ReceiveLowWater = v < 0 ? int.MaxValue : Math.Max(v, 1); return Errno.Ok;
            case Linux.SO_LINGER:
            {
                if (value.Length < LingerLength) return Errno.EINVAL;
                int seconds = MemoryMarshal.Read<int>(value[4..]);
                x.LingerSeconds = seconds;
                s.Linger = !on ? null : seconds == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(seconds < 0 ? int.MaxValue : seconds);
                return Errno.Ok;
            }
            case Linux.SO_RCVTIMEO:
            case Linux.SO_SNDTIMEO:
            {
                if (value.Length < TimevalLength) return Errno.EINVAL;
                long sec = MemoryMarshal.Read<long>(value), usec = MemoryMarshal.Read<long>(value[8..]);
                if (usec is < 0 or >= 1_000_000) return Errno.EDOM;
                // sock_set_timeout: {0, 0} is forever; a negative tv_sec makes the call give up at once.
                TimeSpan? timeout = sec < 0 ? TimeSpan.FromTicks(-1)
                    : sec == 0 && usec == 0 ? null
                    : TimeSpan.FromSeconds(Math.Min(sec, int.MaxValue)) + TimeSpan.FromMicroseconds(usec);
                if (name == Linux.SO_RCVTIMEO) s.ReceiveTimeout = timeout; else s.SendTimeout = timeout;
                return Errno.Ok;
            }
            default: return Errno.ENOPROTOOPT; // SO_TYPE, SO_ERROR, SO_ACCEPTCONN, SO_PROTOCOL, SO_DOMAIN, SO_SNDLOWAT are read-only in Linux
        }
    }

    private static Errno GetSocketOption(UserSocket s, int name, Span<byte> into, out int size)
    {
        var x = s.Extras;
        size = 4;
        switch (name)
        {
            case Linux.SO_DEBUG: WriteInt(into, x.Debug ? 1 : 0, out size); break;
            case Linux.SO_REUSEADDR: WriteInt(into, s.ReuseAddress ? 1 : 0, out size); break;
            case Linux.SO_REUSEPORT: WriteInt(into, x.ReusePort ? 1 : 0, out size); break;
            case Linux.SO_DONTROUTE: WriteInt(into, x.DontRoute ? 1 : 0, out size); break;
            case Linux.SO_TYPE: WriteInt(into, (int)s.Type, out size); break;
            case Linux.SO_PROTOCOL: WriteInt(into, (int)s.Protocol, out size); break;
            case Linux.SO_DOMAIN: WriteInt(into, Linux.AF_INET, out size); break;
            case Linux.SO_ERROR: WriteInt(into, (int)s.TakePendingError(), out size); break; // reads and clears
            case Linux.SO_ACCEPTCONN: WriteInt(into, s.IsListening ? 1 : 0, out size); break;
            case Linux.SO_BROADCAST: WriteInt(into, (s.Type == SocketType.Stream ? x.Broadcast : s.Broadcast) ? 1 : 0, out size); break;
            case Linux.SO_KEEPALIVE: WriteInt(into, (s.Type == SocketType.Stream ? s.KeepAlive : x.KeepAlive) ? 1 : 0, out size); break;
            case Linux.SO_OOBINLINE: WriteInt(into, x.OobInline ? 1 : 0, out size); break;
            case Linux.SO_SNDBUF: WriteInt(into, x.ReportedSendBuffer ?? s.SendBufferSize, out size); break;
            case Linux.SO_RCVBUF: WriteInt(into, x.ReportedReceiveBuffer ?? s.ReceiveBufferSize, out size); break;
            case Linux.SO_RCVLOWAT: WriteInt(into, x.ReceiveLowWater, out size); break;
            case Linux.SO_SNDLOWAT: WriteInt(into, 1, out size); break;
            case Linux.SO_LINGER:
                MemoryMarshal.Write(into, s.Linger is null ? 0 : 1);
                MemoryMarshal.Write(into[4..], s.Linger is null ? x.LingerSeconds : s.Linger == TimeSpan.Zero ? 0 : x.LingerSeconds);
                size = LingerLength;
                break;
            case Linux.SO_RCVTIMEO:
            case Linux.SO_SNDTIMEO:
            {
                var t = name == Linux.SO_RCVTIMEO ? s.ReceiveTimeout : s.SendTimeout;
                long micros = t is { } span && span > TimeSpan.Zero ? (long)(span.Ticks / 10) : 0;
                MemoryMarshal.Write(into, micros / 1_000_000);
                MemoryMarshal.Write(into[8..], micros % 1_000_000);
                size = TimevalLength;
                break;
            }
            default: size = 0; return Errno.ENOPROTOOPT;
        }
        return Errno.Ok;
    }

    // ---- SOL_IP ------------------------------------------------------------------------------

    private static Errno SetIpOption(UserSocket s, int name, ReadOnlySpan<byte> value)
    {
        // do_ip_setsockopt: an int when 4 bytes or more are given, else one byte.
        int v = value.Length >= 4 ? MemoryMarshal.Read<int>(value) : value.Length >= 1 ? value[0] : 0;
        switch (name)
        {
            case Linux.IP_TOS:
                // __ip_sock_set_tos: a TCP socket keeps its own ECN bits (the low two).
                s.TypeOfService = s.Type == SocketType.Stream ? (byte)((v & ~3) | (s.TypeOfService & 3)) : (byte)v;
                return Errno.Ok;
            case Linux.IP_TTL:
                if (value.Length < 1) return Errno.EINVAL;
                if (v != -1 && v is < 1 or > 255) return Errno.EINVAL;
                s.TimeToLive = v == -1 ? Wire.Ipv4Repr.DefaultTimeToLive : (byte)v;
                return Errno.Ok;
            case Linux.IP_HDRINCL:
                if (s.Type != SocketType.Raw) return Errno.ENOPROTOOPT;
                s.Extras.HeaderIncluded = v != 0; // sends then start with the caller's IPv4 header (RawLayer.SendHeaderIncluded)
                return Errno.Ok;
            default: return Errno.ENOPROTOOPT;
        }
    }

    private static Errno GetIpOption(UserSocket s, int name, Span<byte> into, out int size)
    {
        switch (name)
        {
            case Linux.IP_TOS: WriteInt(into, s.TypeOfService, out size); return Errno.Ok;
            case Linux.IP_TTL: WriteInt(into, s.TimeToLive, out size); return Errno.Ok;
            case Linux.IP_HDRINCL: WriteInt(into, s.Extras.HeaderIncluded ? 1 : 0, out size); return Errno.Ok;
            default: size = 0; return Errno.ENOPROTOOPT;
        }
    }

    // ---- SOL_TCP -----------------------------------------------------------------------------

    private static Errno SetTcpOption(UserSocket s, int name, ReadOnlySpan<byte> value)
    {
        var x = s.Extras;
        if (name == Linux.TCP_CONGESTION)
        {
            // do_tcp_setsockopt: at most TCP_CA_NAME_MAX - 1 bytes, up to the first NUL.
            var text = value[..Math.Min(value.Length, CongestionNameLength - 1)];
            int nul = text.IndexOf((byte)0);
            string algorithm = System.Text.Encoding.ASCII.GetString(nul >= 0 ? text[..nul] : text);
            return s.SetCongestionControl(algorithm == "reno" ? UserStack.Tcp.Congestion.CongestionControl.NewRenoName : algorithm);
        }
        if (!ReadInt(value, out int v)) return Errno.EINVAL; // optlen < sizeof(int)
        switch (name)
        {
            case Linux.TCP_NODELAY: s.NoDelay = v != 0; return Errno.Ok;
            case Linux.TCP_MAXSEG:
                if (v != 0 && v is < MinimumUserMss or > MaximumUserMss) return Errno.EINVAL;
                x.UserMss = v;
                s.SetUserMss(v == 0 ? null : v);
                return Errno.Ok;
            case Linux.TCP_CORK: x.Cork = v != 0; return Errno.Ok;
            case Linux.TCP_KEEPIDLE: return s.SetKeepAliveTimes(idleSeconds: v);
            case Linux.TCP_KEEPINTVL: return s.SetKeepAliveTimes(intervalSeconds: v);
            case Linux.TCP_KEEPCNT: return s.SetKeepAliveTimes(count: v);
            case Linux.TCP_QUICKACK: x.QuickAck = v != 0; return Errno.Ok;
            case Linux.TCP_USER_TIMEOUT:
                if (v < 0) return Errno.EINVAL;
                x.UserTimeoutMilliseconds = v;
                return Errno.Ok;
            default: return Errno.ENOPROTOOPT; // TCP_INFO included: Linux cannot set it either
        }
    }

    private static Errno GetTcpOption(UserSocket s, int name, Span<byte> into, out int size)
    {
        var x = s.Extras;
        switch (name)
        {
            case Linux.TCP_NODELAY: WriteInt(into, s.NoDelay ? 1 : 0, out size); return Errno.Ok;
            case Linux.TCP_MAXSEG: WriteInt(into, s.LinuxMaximumSegmentSize(x.UserMss), out size); return Errno.Ok;
            case Linux.TCP_CORK: WriteInt(into, x.Cork ? 1 : 0, out size); return Errno.Ok;
            case Linux.TCP_KEEPIDLE: WriteInt(into, s.KeepAliveTimes.IdleSeconds, out size); return Errno.Ok;
            case Linux.TCP_KEEPINTVL: WriteInt(into, s.KeepAliveTimes.IntervalSeconds, out size); return Errno.Ok;
            case Linux.TCP_KEEPCNT: WriteInt(into, s.KeepAliveTimes.Count, out size); return Errno.Ok;
            case Linux.TCP_QUICKACK: WriteInt(into, x.QuickAck ? 1 : 0, out size); return Errno.Ok;
            case Linux.TCP_USER_TIMEOUT: WriteInt(into, x.UserTimeoutMilliseconds, out size); return Errno.Ok;
            case Linux.TCP_CONGESTION:
            {
                string algorithm = s.CongestionControl == UserStack.Tcp.Congestion.CongestionControl.NewRenoName ? "reno" : s.CongestionControl ?? "";
                into[..CongestionNameLength].Clear();
                System.Text.Encoding.ASCII.GetBytes(algorithm.AsSpan(0, Math.Min(algorithm.Length, CongestionNameLength - 1)), into);
                size = CongestionNameLength;
                return Errno.Ok;
            }
            case Linux.TCP_INFO:
                size = WriteTcpInfo(s, into);
                return Errno.Ok;
            default: size = 0; return Errno.ENOPROTOOPT;
        }
    }

    /// <summary>
    /// Linux's struct tcp_info (include/uapi/linux/tcp.h) from <see cref="TcpInfo"/>: eight bytes of
    /// state, then 32-bit fields in the kernel's order; times in microseconds, windows in segments
    /// (cwnd, ssthresh) or bytes as Linux reports them. Fields we do not track are 0.
    /// </summary>
    internal static int WriteTcpInfo(UserSocket s, Span<byte> into)
    {
        var info = s.TcpInfo!;
        into[..TcpInfoLength].Clear();
        int mss = Math.Max(1, info.SendMss);
        static int Packets(int bytes, int mss) => (bytes + mss - 1) / mss;
        static uint Micros(TimeSpan t) => (uint)Math.Clamp(t.Ticks / 10, 0, uint.MaxValue);
        into[0] = (byte)Linux.TcpStateNumber(info.State);                       // tcpi_state
        into[1] = (byte)(info.InRecovery ? 3 : 0);                              // tcpi_ca_state: TCP_CA_Recovery or TCP_CA_Open
        into[2] = (byte)Math.Min(info.Retransmits, 255);                        // tcpi_retransmits
        into[3] = 0;                                                            // tcpi_probes
        into[4] = 0;                                                            // tcpi_backoff
        into[5] = (byte)((info.Timestamps ? 1 : 0) | (info.Sack ? 2 : 0) | (info.SendWindowScale is not null ? 4 : 0)); // tcpi_options: TCPI_OPT_*
        into[6] = (byte)((info.SendWindowScale ?? 0) & 0xf | ((info.ReceiveWindowScale ?? 0) & 0xf) << 4); // tcpi_snd_wscale:4, tcpi_rcv_wscale:4
        bool synchronized = info.State.IsSynchronized();
        int advmss = info.ReceiveMss - (info.Timestamps ? 12 : 0);
        int ssthresh = info.SlowStartThreshold >= int.MaxValue / 2 ? 0x7fffffff : Packets(info.SlowStartThreshold, mss); // TCP_INFINITE_SSTHRESH
        uint[] words =
        [
            Micros(info.Rto),                                   //  8 tcpi_rto
            synchronized ? 40_000u : 0,                         // 12 tcpi_ato: our delayed-ACK timeout
            (uint)info.SendMss,                                 // 16 tcpi_snd_mss
            (uint)advmss,                                       // 20 tcpi_rcv_mss (our estimate: the MSS we announced, less options)
            (uint)Packets(info.BytesInFlight, mss),             // 24 tcpi_unacked
            (uint)Packets(info.SackedBytes, mss),               // 28 tcpi_sacked
            0,                                                  // 32 tcpi_lost
            0,                                                  // 36 tcpi_retrans
            0,                                                  // 40 tcpi_fackets
            0, 0, 0, 0,                                         // 44..56 tcpi_last_data_sent, _ack_sent, _data_recv, _ack_recv (not tracked)
            (uint)s.Mtu,                                        // 60 tcpi_pmtu
            (uint)info.ReceiveWindow,                           // 64 tcpi_rcv_ssthresh
            Micros(info.SmoothedRtt),                           // 68 tcpi_rtt
            Micros(info.RttVariance),                           // 72 tcpi_rttvar
            (uint)ssthresh,                                     // 76 tcpi_snd_ssthresh
            (uint)Packets(info.CongestionWindow, mss),          // 80 tcpi_snd_cwnd
            (uint)advmss,                                       // 84 tcpi_advmss
            3,                                                  // 88 tcpi_reordering (Linux's tcp_reordering)
            0,                                                  // 92 tcpi_rcv_rtt
            (uint)info.ReceiveWindow,                           // 96 tcpi_rcv_space
            (uint)info.TotalRetransmits,                        // 100 tcpi_total_retrans
        ];
        for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(into[(8 + 4 * i)..], words[i]);
        // 104..143: pacing rates, bytes acked/received, segs out/in (0); 144 tcpi_notsent_bytes.
        BinaryPrimitives.WriteUInt32LittleEndian(into[144..], (uint)Math.Max(0, s.OutputQueued - info.BytesInFlight));
        BinaryPrimitives.WriteUInt32LittleEndian(into[228..], (uint)info.SendWindow);    // tcpi_snd_wnd
        BinaryPrimitives.WriteUInt32LittleEndian(into[232..], (uint)info.ReceiveWindow); // tcpi_rcv_wnd
        return TcpInfoLength;
    }
}
