using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using UserStack.Sockets.Api;
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
internal static unsafe partial class Exports
{
    private const int EIO = 5;

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
            int fd = s.Sockets.Socket(domain, type, protocol);
            return fd < 0 ? Done(s, fd) : s.Descriptors.Add(fd);
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

    /// <summary>accept(): accept4 without flags (packetdrill's table has no accept4).</summary>
    [UnmanagedCallersOnly]
    private static int Accept(nint userData, int fd, byte* addr, uint* length)
    {
        var s = Enter(userData);
        try
        {
            int child = s.Sockets.Accept4(Fd(s, fd), out var peer, 0);
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

    /// <summary>fcntl(fd, cmd[, arg]): packetdrill passes arg as an int (or not at all, for F_GETFL: then the register holds garbage that F_GETFL ignores).</summary>
    [UnmanagedCallersOnly]
    private static int Fcntl(nint userData, int fd, int command, nint argument)
    {
        var s = Enter(userData);
        try { return Done(s, s.Sockets.Fcntl(Fd(s, fd), command, (int)argument)); }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    /// <summary>ioctl(fd, request, int *): packetdrill's three-argument form; the value is read in and written back.</summary>
    [UnmanagedCallersOnly]
    private static int Ioctl(nint userData, int fd, nuint request, int* argument)
    {
        var s = Enter(userData);
        try
        {
            if (argument is null) return Fail(Errno.EFAULT);
            int value = *argument;
            int result = s.Sockets.Ioctl(Fd(s, fd), request, ref value);
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
        try { return Done(s, s.Sockets.Shutdown(Fd(s, fd), how)); }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    /// <summary>getsockopt(): the option's C bytes straight into optval, *optlen in and out.</summary>
    [UnmanagedCallersOnly]
    private static int GetSockOpt(nint userData, int fd, int level, int name, byte* value, uint* length)
    {
        var s = Enter(userData);
        try
        {
            if (length is null) return Fail(Errno.EFAULT);
            int n = (int)*length; // socklen_t is unsigned; Linux reads it as an int (negative: EINVAL)
            if (value is null && n > 0) return Fail(Errno.EFAULT);
            int result = s.Sockets.GetSockOpt(Fd(s, fd), level, name, new Span<byte>(value, Math.Max(n, 0)), ref n);
            if (result < 0) return Done(s, result);
            *length = (uint)n;
            return result;
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    /// <summary>setsockopt(): optval's C bytes straight through.</summary>
    [UnmanagedCallersOnly]
    private static int SetSockOpt(nint userData, int fd, int level, int name, byte* value, uint length)
    {
        var s = Enter(userData);
        try
        {
            if (value is null && length > 0) return Fail(Errno.EFAULT);
            if ((int)length < 0) return Fail(Errno.EINVAL);
            return Done(s, s.Sockets.SetSockOpt(Fd(s, fd), level, name, new ReadOnlySpan<byte>(value, (int)length)));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    /// <summary>
    /// poll(): BsdSockets.Poll on the descriptors behind packetdrill's numbers, waiting on the
    /// host's (virtual) clock. A number that is not one of ours gets POLLNVAL, as in Linux.
    /// </summary>
    [UnmanagedCallersOnly]
    private static int Poll(nint userData, LinuxAbi.PollFd* fds, nuint count, int timeoutMs)
    {
        var s = Enter(userData);
        try
        {
            if (count > MaximumPollFds) return Fail(Errno.EINVAL);
            if (fds is null && count > 0) return Fail(Errno.EFAULT);
            var polled = new UserStack.Sockets.Api.PollFd[(int)count];
            for (int i = 0; i < polled.Length; i++)
            {
                int socket = fds[i].Fd < 0 ? -1 : Fd(s, fds[i].Fd);
                polled[i] = new UserStack.Sockets.Api.PollFd(fds[i].Fd < 0 || socket >= 0 ? socket : NotADescriptor, fds[i].Events);
            }
            int result = s.Sockets.Poll(polled, timeoutMs);
            if (result < 0) return Done(s, result);
            for (int i = 0; i < polled.Length; i++) fds[i].Revents = polled[i].Revents;
            return result;
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    /// <summary>poll() with more descriptors than a process may open is EINVAL (Linux: RLIMIT_NOFILE).</summary>
    private const int MaximumPollFds = 4096;

    /// <summary>A BsdSockets descriptor number that is never open (the table stops at 65536), so that poll reports POLLNVAL.</summary>
    private const int NotADescriptor = int.MaxValue;

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
}
