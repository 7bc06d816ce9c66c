using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using UserStack.Sockets.Api;
using UserStack.Time;
using UserStack.Transport;
using static UserStack.PacketdrillAdapter.LinuxAbi;

namespace UserStack.PacketdrillAdapter;

/// <summary>
/// The shared object's one export, packetdrill_interface_init, and the functions it puts in
/// packetdrill's table. Each socket function maps packetdrill's descriptor to a BsdSockets one,
/// converts the C arguments, calls BsdSockets, and reports failure the C way: -1 and errno.
/// An exception inside the adapter is a bug; it is printed and the call fails with EIO rather
/// than unwinding into C.
/// </summary>
internal static unsafe class Exports
{
    private const int EIO = 5, ENOTTY = 25;

    [UnmanagedCallersOnly(EntryPoint = "packetdrill_interface_init")]
    public static void Init(byte* flags, PacketdrillInterface* ifc)
    {
        AdapterSession session;
        try
        {
            var text = flags is null ? null : Marshal.PtrToStringUTF8((nint)flags);
            session = new AdapterSession(AdapterOptions.Parse(text));
        }
        catch (Exception e)
        {
            // init returns nothing packetdrill could check: a table left empty would crash it later.
            Console.Error.WriteLine($"ustack-adapter: cannot start: {e.Message}");
            Environment.Exit(1);
            return;
        }
        *ifc = default;
        ifc->UserData = GCHandle.ToIntPtr(GCHandle.Alloc(session));
        ifc->Free = &Free;
        ifc->Socket = &Socket;
        ifc->Bind = &Bind;
        ifc->Listen = &Listen;
        ifc->Accept = &Accept;
        ifc->Connect = &Connect;
        ifc->Read = &Read;
        ifc->Readv = &Readv;
        ifc->Recv = &Recv;
        ifc->RecvFrom = &RecvFrom;
        ifc->RecvMsg = &RecvMsg;
        ifc->Write = &Write;
        ifc->Writev = &Writev;
        ifc->Send = &Send;
        ifc->SendTo = &SendTo;
        ifc->SendMsg = &SendMsg;
        ifc->Fcntl = &Fcntl;
        ifc->Ioctl = &Ioctl;
        ifc->Close = &Close;
        ifc->Shutdown = &Shutdown;
        ifc->GetSockOpt = &GetSockOpt;
        ifc->SetSockOpt = &SetSockOpt;
        ifc->Poll = &Poll;
        ifc->NetdevSend = &NetdevSend;
        ifc->NetdevReceive = &NetdevReceive;
        ifc->Usleep = &Usleep;
        ifc->GetTimeOfDay = &GetTimeOfDay;
        ifc->EpollCreate = &EpollCreate;
        ifc->EpollCtl = &EpollCtl;
        ifc->EpollWait = &EpollWait;
        ifc->Pipe = &Pipe;
        ifc->Splice = &Splice;
    }

    // ---- plumbing ---------------------------------------------------------------------------

    private static AdapterSession Session(nint userData) => (AdapterSession)GCHandle.FromIntPtr(userData).Target!;

    private static AdapterSession Enter(nint userData)
    {
        var s = Session(userData);
        s.EnterCall();
        return s;
    }

    private static int Fail(int errno)
    {
        Marshal.SetLastSystemError(errno);
        return -1;
    }

    private static int Fail(Errno e) => Fail((int)e);

    /// <summary>A BsdSockets result: -1 carries its errno over to the C caller.</summary>
    private static int Done(AdapterSession s, int result) => result < 0 ? Fail((int)s.Sockets.Errno) : result;

    private static int Crash(Exception e, [CallerMemberName] string call = "")
    {
        Console.Error.WriteLine($"ustack-adapter: {call} failed inside the adapter: {e}");
        return Fail(EIO);
    }

    private static int Clamp(nuint length) => length > int.MaxValue ? int.MaxValue : (int)length;

    /// <summary>packetdrill's descriptor to the BsdSockets one; -1 (EBADF when used) for a number that is not ours.</summary>
    private static int Fd(AdapterSession s, int fd) => s.Descriptors.Socket(fd);

    // ---- socket calls -------------------------------------------------------------------------

    [UnmanagedCallersOnly]
    private static void Free(nint userData)
    {
        var handle = GCHandle.FromIntPtr(userData);
        ((AdapterSession)handle.Target!).Dispose();
        handle.Free();
    }

    [UnmanagedCallersOnly]
    private static int Socket(nint userData, int domain, int type, int protocol)
    {
        var s = Enter(userData);
        try
        {
            if (domain != AF_INET) return Fail(Errno.EAFNOSUPPORT);
            if (!TrySocketType(type, out var kind, out bool nonBlocking)) return Fail(Errno.ESOCKTNOSUPPORT);
            int fd = s.Sockets.Socket(AddressFamily.InterNetwork, kind, (ProtocolType)protocol);
            if (fd < 0) return Done(s, fd);
            if (nonBlocking) s.Sockets.Fcntl(fd, FcntlCommand.SetFlags, BsdSockets.O_NONBLOCK);
            return s.Descriptors.Add(fd);
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int Bind(nint userData, int fd, byte* addr, uint length)
    {
        var s = Enter(userData);
        try
        {
            var e = ReadSockaddr(addr, length, out var local);
            if (e != Errno.Ok) return Fail(e);
            return Done(s, s.Sockets.Bind(Fd(s, fd), local));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int Listen(nint userData, int fd, int backlog)
    {
        var s = Enter(userData);
        try { return Done(s, s.Sockets.Listen(Fd(s, fd), backlog)); }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int Accept(nint userData, int fd, byte* addr, uint* length)
    {
        var s = Enter(userData);
        try
        {
            int child = s.Sockets.Accept(Fd(s, fd), out var peer);
            if (child < 0) return Done(s, child);
            WriteSockaddr(peer, addr, length);
            return s.Descriptors.Add(child);
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int Connect(nint userData, int fd, byte* addr, uint length)
    {
        var s = Enter(userData);
        try
        {
            var e = ReadSockaddr(addr, length, out var remote);
            if (e != Errno.Ok) return Fail(e);
            return Done(s, s.Sockets.Connect(Fd(s, fd), remote));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint Read(nint userData, int fd, byte* buffer, nuint count)
    {
        var s = Enter(userData);
        try
        {
            if (buffer is null && count > 0) return Fail(Errno.EFAULT);
            return Done(s, s.Sockets.Read(Fd(s, fd), new Span<byte>(buffer, Clamp(count))));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint Recv(nint userData, int fd, byte* buffer, nuint length, int flags)
    {
        var s = Enter(userData);
        try
        {
            if (buffer is null && length > 0) return Fail(Errno.EFAULT);
            return Done(s, s.Sockets.Recv(Fd(s, fd), new Span<byte>(buffer, Clamp(length)), MessageFlags(flags)));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint RecvFrom(nint userData, int fd, byte* buffer, nuint length, int flags, byte* from, uint* fromLength)
    {
        var s = Enter(userData);
        try
        {
            if (buffer is null && length > 0) return Fail(Errno.EFAULT);
            int n = s.Sockets.RecvFrom(Fd(s, fd), new Span<byte>(buffer, Clamp(length)), MessageFlags(flags), out var peer);
            if (n < 0) return Done(s, n);
            WriteSockaddr(peer, from, fromLength);
            return n;
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    /// <summary>readv(): one receive into a buffer as large as the iovec, scattered over it (a stream read never blocks twice).</summary>
    [UnmanagedCallersOnly]
    private static nint Readv(nint userData, int fd, IoVec* iov, int count)
    {
        var s = Enter(userData);
        try
        {
            if (count < 0 || count > 1024) return Fail(Errno.EINVAL);
            int total = Total(iov, count);
            var scratch = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
            try
            {
                int n = s.Sockets.Read(Fd(s, fd), scratch.AsSpan(0, total));
                if (n < 0) return Done(s, n);
                Scatter(scratch.AsSpan(0, n), iov, count);
                return n;
            }
            finally { ArrayPool<byte>.Shared.Return(scratch); }
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint RecvMsg(nint userData, int fd, MsgHdr* msg, int flags)
    {
        var s = Enter(userData);
        try
        {
            if (msg is null) return Fail(Errno.EFAULT);
            var iov = (IoVec*)msg->Iov;
            int count = Clamp(msg->IovLength);
            if (count > 1024) return Fail(Errno.EMSGSIZE);
            var header = new MessageHeader { Buffers = [new ArraySegment<byte>(new byte[Total(iov, count)])] };
            int n = s.Sockets.RecvMsg(Fd(s, fd), header, MessageFlags(flags));
            if (n < 0) return Done(s, n);
            Scatter(header.Buffers[0].AsSpan(0, Math.Min(n, header.Buffers[0].Count)), iov, count);
            if (msg->Name != 0 && header.Name is { } peer) WriteSockaddr(peer, (byte*)msg->Name, &msg->NameLength);
            else msg->NameLength = 0;
            msg->ControlLength = 0;
            msg->Flags = (header.Flags & SocketFlags.Truncated) != 0 ? MSG_TRUNC : 0;
            return n;
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint Write(nint userData, int fd, byte* buffer, nuint count)
    {
        var s = Enter(userData);
        try
        {
            if (buffer is null && count > 0) return Fail(Errno.EFAULT);
            return Done(s, s.Sockets.Write(Fd(s, fd), new ReadOnlySpan<byte>(buffer, Clamp(count))));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint Send(nint userData, int fd, byte* buffer, nuint length, int flags)
    {
        var s = Enter(userData);
        try
        {
            if (buffer is null && length > 0) return Fail(Errno.EFAULT);
            return Done(s, s.Sockets.Send(Fd(s, fd), new ReadOnlySpan<byte>(buffer, Clamp(length)), MessageFlags(flags)));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint SendTo(nint userData, int fd, byte* buffer, nuint length, int flags, byte* to, uint toLength)
    {
        var s = Enter(userData);
        try
        {
            if (buffer is null && length > 0) return Fail(Errno.EFAULT);
            Endpoint? destination = null;
            if (to is not null)
            {
                var e = ReadSockaddr(to, toLength, out var d);
                if (e != Errno.Ok) return Fail(e);
                destination = d;
            }
            return Done(s, s.Sockets.SendTo(Fd(s, fd), new ReadOnlySpan<byte>(buffer, Clamp(length)), MessageFlags(flags), destination));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    /// <summary>writev(): the iovec gathered into one send.</summary>
    [UnmanagedCallersOnly]
    private static nint Writev(nint userData, int fd, IoVec* iov, int count)
    {
        var s = Enter(userData);
        try
        {
            if (count < 0 || count > 1024) return Fail(Errno.EINVAL);
            var data = Gather(iov, count);
            return Done(s, s.Sockets.Write(Fd(s, fd), data));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint SendMsg(nint userData, int fd, MsgHdr* msg, int flags)
    {
        var s = Enter(userData);
        try
        {
            if (msg is null) return Fail(Errno.EFAULT);
            int count = Clamp(msg->IovLength);
            if (count > 1024) return Fail(Errno.EMSGSIZE);
            var header = new MessageHeader { Buffers = [new ArraySegment<byte>(Gather((IoVec*)msg->Iov, count))] };
            if (msg->Name != 0)
            {
                var e = ReadSockaddr((byte*)msg->Name, msg->NameLength, out var to);
                if (e != Errno.Ok) return Fail(e);
                header.Name = to;
            }
            return Done(s, s.Sockets.SendMsg(Fd(s, fd), header, MessageFlags(flags)));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int Fcntl(nint userData, int fd, int command, nint argument)
    {
        var s = Enter(userData);
        try
        {
            int socket = Fd(s, fd);
            switch (command)
            {
                case F_GETFL:
                    // A socket is open O_RDWR, as Linux's F_GETFL reports it.
                    int flags = s.Sockets.Fcntl(socket, FcntlCommand.GetFlags);
                    return flags < 0 ? Done(s, flags) : 2 /* O_RDWR */ | flags;
                case F_SETFL:
                    return Done(s, s.Sockets.Fcntl(socket, FcntlCommand.SetFlags, (int)argument & O_NONBLOCK));
                case F_GETFD or F_SETFD:
                    return socket < 0 ? Fail(Errno.EBADF) : 0; // close-on-exec means nothing here: there is no exec
                default:
                    return Fail(Errno.EINVAL);
            }
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int Ioctl(nint userData, int fd, nuint request, int* argument)
    {
        var s = Enter(userData);
        try
        {
            var typed = (ulong)request switch { FIONREAD => IoctlRequest.FIONREAD, FIONBIO => IoctlRequest.FIONBIO, _ => (IoctlRequest)(-1) };
            if ((int)typed == -1) return Fd(s, fd) < 0 ? Fail(Errno.EBADF) : Fail(ENOTTY);
            if (argument is null) return Fail(Errno.EFAULT);
            int value = *argument;
            int result = s.Sockets.Ioctl(Fd(s, fd), typed, ref value);
            if (result < 0) return Done(s, result);
            *argument = value;
            return result;
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int Close(nint userData, int fd)
    {
        var s = Enter(userData);
        try
        {
            int socket = s.Descriptors.Remove(fd);
            if (socket < 0) return Fail(Errno.EBADF);
            return Done(s, s.Sockets.Close(socket));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int Shutdown(nint userData, int fd, int how)
    {
        var s = Enter(userData);
        try
        {
            // SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2: the same numbers as SocketShutdown's.
            if (how is < 0 or > 2) return Fail(Errno.EINVAL);
            return Done(s, s.Sockets.Shutdown(Fd(s, fd), (SocketShutdown)how));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int GetSockOpt(nint userData, int fd, int level, int name, byte* value, uint* length)
    {
        var s = Enter(userData);
        try
        {
            if (length is null) return Fail(Errno.EFAULT);
            int socket = Fd(s, fd);
            if ((level, name) == (IPPROTO_TCP, TCP_CONGESTION))
            {
                var algorithm = s.Sockets.GetCongestionControl(socket);
                if (algorithm is null) return Fail(s.Sockets.Errno);
                var bytes = Encoding.ASCII.GetBytes(algorithm + "\0");
                int n = (int)Math.Min(*length, (uint)bytes.Length);
                if (value is null && n > 0) return Fail(Errno.EFAULT);
                bytes.AsSpan(0, n).CopyTo(new Span<byte>(value, n));
                *length = (uint)n;
                return 0;
            }
            if (level == SOL_SOCKET && name is SO_RCVTIMEO or SO_SNDTIMEO)
            {
                if (*length < sizeof(TimeVal)) return Fail(Errno.EINVAL);
                int r = s.Sockets.GetSockOpt(socket, SocketOptionLevel.Socket, name == SO_RCVTIMEO ? SocketOptionName.ReceiveTimeout : SocketOptionName.SendTimeout, out int ms);
                if (r < 0) return Done(s, r);
                *(TimeVal*)value = new TimeVal { Seconds = ms / 1000, Microseconds = ms % 1000 * 1000 };
                *length = (uint)sizeof(TimeVal);
                return 0;
            }
            if ((level, name) == (SOL_SOCKET, SO_LINGER))
            {
                if (*length < 8) return Fail(Errno.EINVAL);
                int r = s.Sockets.GetSockOpt(socket, SocketOptionLevel.Socket, SocketOptionName.Linger, out int seconds);
                if (r < 0) return Done(s, r);
                ((int*)value)[0] = seconds < 0 ? 0 : 1;
                ((int*)value)[1] = Math.Max(seconds, 0);
                *length = 8;
                return 0;
            }
            if (!TryIntOption(level, name, out var l, out var o)) return socket < 0 ? Fail(Errno.EBADF) : Fail(Errno.ENOPROTOOPT);
            if ((int)*length < 0) return Fail(Errno.EINVAL);
            int result = s.Sockets.GetSockOpt(socket, l, o, out int v);
            if (result < 0) return Done(s, result);
            if (name == SO_TYPE && level == SOL_SOCKET) v = v switch { (int)SocketType.Stream => SOCK_STREAM, (int)SocketType.Dgram => SOCK_DGRAM, _ => SOCK_RAW };
            // Linux copies min(len, sizeof(int)) bytes of an int option.
            int copy = (int)Math.Min(*length, 4u);
            if (value is null && copy > 0) return Fail(Errno.EFAULT);
            new ReadOnlySpan<byte>(&v, 4)[..copy].CopyTo(new Span<byte>(value, copy));
            *length = (uint)copy;
            return 0;
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static int SetSockOpt(nint userData, int fd, int level, int name, byte* value, uint length)
    {
        var s = Enter(userData);
        try
        {
            int socket = Fd(s, fd);
            if (value is null && length > 0) return Fail(Errno.EFAULT);
            if ((level, name) == (IPPROTO_TCP, TCP_CONGESTION))
            {
                var text = new ReadOnlySpan<byte>(value, (int)Math.Min(length, 16u));
                int end = text.IndexOf((byte)0);
                return Done(s, s.Sockets.SetCongestionControl(socket, Encoding.ASCII.GetString(end < 0 ? text : text[..end])));
            }
            if (level == SOL_SOCKET && name is SO_RCVTIMEO or SO_SNDTIMEO)
            {
                if (length < sizeof(TimeVal)) return Fail(Errno.EINVAL);
                var tv = *(TimeVal*)value;
                if (tv.Seconds < 0 || tv.Microseconds is < 0 or >= 1_000_000) return Fail(33); // EDOM, as Linux says for a bad timeval
                long ms = tv.Seconds * 1000 + (tv.Microseconds + 999) / 1000;
                return Done(s, s.Sockets.SetSockOpt(socket, SocketOptionLevel.Socket, name == SO_RCVTIMEO ? SocketOptionName.ReceiveTimeout : SocketOptionName.SendTimeout, (int)Math.Min(ms, int.MaxValue)));
            }
            if ((level, name) == (SOL_SOCKET, SO_LINGER))
            {
                if (length < 8) return Fail(Errno.EINVAL);
                int on = ((int*)value)[0], seconds = ((int*)value)[1];
                return Done(s, s.Sockets.SetSockOpt(socket, SocketOptionLevel.Socket, SocketOptionName.Linger, on == 0 ? -1 : Math.Max(seconds, 0)));
            }
            if (!TryIntOption(level, name, out var l, out var o)) return socket < 0 ? Fail(Errno.EBADF) : Fail(Errno.ENOPROTOOPT);
            if (length < 4) return Fail(Errno.EINVAL);
            return Done(s, s.Sockets.SetSockOpt(socket, l, o, *(int*)value));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    /// <summary>poll(): readiness from the sockets, waiting on the host's (virtual) clock.</summary>
    [UnmanagedCallersOnly]
    private static int Poll(nint userData, LinuxAbi.PollFd* fds, nuint count, int timeoutMs)
    {
        var s = Enter(userData);
        try
        {
            if (count > 4096) return Fail(Errno.EINVAL);
            if (fds is null && count > 0) return Fail(Errno.EFAULT);
            var deadline = timeoutMs < 0 ? Instant.MaxValue : s.Host.Now + TimeSpan.FromMilliseconds(timeoutMs);
            lock (s.Host.Gate)
            {
                while (true)
                {
                    int ready = 0;
                    for (int i = 0; i < (int)count; i++)
                    {
                        ref var p = ref fds[i];
                        p.Revents = p.Fd < 0 ? (short)0 : Readiness(s, p.Fd, p.Events);
                        if (p.Revents != 0) ready++;
                    }
                    if (ready > 0 || timeoutMs == 0) return ready;
                    if (!s.Host.WaitLocked(deadline)) return 0;
                }
            }
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    private static short Readiness(AdapterSession s, int fd, short events)
    {
        var socket = s.Sockets[Fd(s, fd)];
        if (socket is null) return POLLNVAL;
        int r = 0;
        if (socket.IsReadable) r |= POLLIN | POLLRDNORM;
        if (socket.IsWritable) r |= POLLOUT | POLLWRNORM;
        r &= events;
        if (socket.HasError) r |= POLLERR; // reported whether asked for or not, as poll(2) does
        return (short)r;
    }

    // ---- packetdrill's tun device and clock ---------------------------------------------------

    [UnmanagedCallersOnly]
    private static int NetdevSend(nint userData, byte* buffer, nuint count)
    {
        try
        {
            var e = Session(userData).Inject(new ReadOnlySpan<byte>(buffer, Clamp(count)));
            return e == Errno.Ok ? 0 : Fail(e);
        }
        catch (Exception e) { return Crash(e); }
    }

    /// <summary>The next packet the stack sent, with its virtual send time; count 0 when there will be none (packetdrill then fails the script).</summary>
    [UnmanagedCallersOnly]
    private static int NetdevReceive(nint userData, byte* buffer, nuint* count, long* timeMicroseconds)
    {
        try
        {
            var s = Session(userData);
            var next = s.NextOutbound();
            if (next is not { } sent)
            {
                *count = 0;
                *timeMicroseconds = s.NowMicroseconds;
                return 0;
            }
            int n = Math.Min(sent.Packet.Length, Clamp(*count));
            sent.Packet.AsSpan(0, n).CopyTo(new Span<byte>(buffer, n));
            *count = (nuint)n;
            *timeMicroseconds = s.ToWallMicroseconds(sent.At);
            return 0;
        }
        catch (Exception e) { return Crash(e); }
    }

    [UnmanagedCallersOnly]
    private static int Usleep(nint userData, uint microseconds)
    {
        try
        {
            Session(userData).Sleep(microseconds);
            return 0;
        }
        catch (Exception e) { return Crash(e); }
    }

    [UnmanagedCallersOnly]
    private static int GetTimeOfDay(nint userData, TimeVal* tv, void* timezone)
    {
        try
        {
            long now = Session(userData).TimeOfDay();
            if (tv is not null) *tv = new TimeVal { Seconds = now / 1_000_000, Microseconds = now % 1_000_000 };
            return 0;
        }
        catch (Exception e) { return Crash(e); }
    }

    // ---- not offered: UserStack has no epoll, pipes or splice ------------------------------------

    [UnmanagedCallersOnly] private static int EpollCreate(nint userData, int size) => Fail(ENOSYS);
    [UnmanagedCallersOnly] private static int EpollCtl(nint userData, int epfd, int op, int fd, void* ev) => Fail(ENOSYS);
    [UnmanagedCallersOnly] private static int EpollWait(nint userData, int epfd, void* events, int max, int timeout) => Fail(ENOSYS);
    [UnmanagedCallersOnly] private static int Pipe(nint userData, int* fds) => Fail(ENOSYS);
    [UnmanagedCallersOnly] private static int Splice(nint userData, int fdIn, long* offIn, int fdOut, long* offOut, nuint length, uint flags) => Fail(ENOSYS);

    // ---- iovec helpers ---------------------------------------------------------------------------

    private static int Total(IoVec* iov, int count)
    {
        long total = 0;
        for (int i = 0; i < count; i++) total += (long)iov[i].Length;
        if (total > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(iov), "iovec larger than 2 GB");
        return (int)total;
    }

    private static byte[] Gather(IoVec* iov, int count)
    {
        var data = new byte[Total(iov, count)];
        int at = 0;
        for (int i = 0; i < count; i++)
        {
            int n = (int)iov[i].Length;
            new ReadOnlySpan<byte>((void*)iov[i].Base, n).CopyTo(data.AsSpan(at));
            at += n;
        }
        return data;
    }

    private static void Scatter(ReadOnlySpan<byte> data, IoVec* iov, int count)
    {
        for (int i = 0; i < count && !data.IsEmpty; i++)
        {
            int n = Math.Min(data.Length, (int)iov[i].Length);
            data[..n].CopyTo(new Span<byte>((void*)iov[i].Base, n));
            data = data[n..];
        }
    }
}
