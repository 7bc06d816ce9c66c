using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using UserStack.Sockets.Api;
using UserStack.Transport;
using static UserStack.PacketdrillAdapter.LinuxAbi;

namespace UserStack.PacketdrillAdapter;

// The data calls of packetdrill's table: read/recv/recvfrom/readv/recvmsg and write/send/sendto/writev/sendmsg.
internal static unsafe partial class Exports
{
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
            return Done(s, s.Sockets.Recv(Fd(s, fd), new Span<byte>(buffer, Clamp(length)), flags));
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
            int n = s.Sockets.RecvFrom(Fd(s, fd), new Span<byte>(buffer, Clamp(length)), flags, out var peer);
            if (n < 0) return Done(s, n);
            WriteSockaddr(peer, from, fromLength);
            return n;
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint Readv(nint userData, int fd, IoVec* iov, int count)
    {
        var s = Enter(userData);
        try
        {
            var e = CheckIovec(iov, count, Errno.EINVAL);
            if (e != Errno.Ok) return Fail(e);
            var buffers = Segments(iov, count, copyIn: false);
            int n = s.Sockets.Readv(Fd(s, fd), buffers);
            if (n < 0) return Done(s, n);
            CopyOut(buffers, iov, n);
            return n;
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
            var e = CheckIovec(iov, count, Errno.EMSGSIZE);
            if (e != Errno.Ok) return Fail(e);
            var header = new MessageHeader { Buffers = Segments(iov, count, copyIn: false) };
            int n = s.Sockets.RecvMsg(Fd(s, fd), header, flags);
            if (n < 0) return Done(s, n);
            // With MSG_TRUNC n is the datagram's full length; only what fitted was copied.
            CopyOut(header.Buffers, iov, n);
            if (msg->Name != 0 && header.Name is { } peer) WriteSockaddr(peer, (byte*)msg->Name, &msg->NameLength);
            else msg->NameLength = 0;
            msg->ControlLength = 0;
            msg->Flags = header.MessageFlags;
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
            return Done(s, s.Sockets.Send(Fd(s, fd), new ReadOnlySpan<byte>(buffer, Clamp(length)), flags));
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
            return Done(s, s.Sockets.SendTo(Fd(s, fd), new ReadOnlySpan<byte>(buffer, Clamp(length)), flags, destination));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    [UnmanagedCallersOnly]
    private static nint Writev(nint userData, int fd, IoVec* iov, int count)
    {
        var s = Enter(userData);
        try
        {
            var e = CheckIovec(iov, count, Errno.EINVAL);
            if (e != Errno.Ok) return Fail(e);
            return Done(s, s.Sockets.Writev(Fd(s, fd), Segments(iov, count, copyIn: true)));
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
            var iov = (IoVec*)msg->Iov;
            int count = Clamp(msg->IovLength);
            var e = CheckIovec(iov, count, Errno.EMSGSIZE);
            if (e != Errno.Ok) return Fail(e);
            var header = new MessageHeader { Buffers = Segments(iov, count, copyIn: true) };
            if (msg->Name != 0)
            {
                e = ReadSockaddr((byte*)msg->Name, msg->NameLength, out var to);
                if (e != Errno.Ok) return Fail(e);
                header.Name = to;
            }
            return Done(s, s.Sockets.SendMsg(Fd(s, fd), header, flags));
        }
        catch (Exception e) { return Crash(e); }
        finally { s.LeaveCall(); }
    }

    // ---- iovec helpers ---------------------------------------------------------------------------

    /// <summary>readv/writev (EINVAL) and recvmsg/sendmsg (EMSGSIZE) refuse more than UIO_MAXIOV entries; a NULL iovec with entries is EFAULT.</summary>
    private static Errno CheckIovec(IoVec* iov, int count, Errno tooMany)
    {
        if (count < 0) return Errno.EINVAL;
        if (count > UIO_MAXIOV) return tooMany;
        if (iov is null && count > 0) return Errno.EFAULT;
        for (int i = 0; i < count; i++)
            if (iov[i].Base == 0 && iov[i].Length > 0) return Errno.EFAULT;
        return Errno.Ok;
    }

    /// <summary>The iovec as managed buffers of the same sizes, filled from C memory when <paramref name="copyIn"/>.</summary>
    private static List<ArraySegment<byte>> Segments(IoVec* iov, int count, bool copyIn)
    {
        var buffers = new List<ArraySegment<byte>>(count);
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            total += (long)iov[i].Length;
            if (total > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(iov), "iovec larger than 2 GB");
            var b = new byte[(int)iov[i].Length];
            if (copyIn) new ReadOnlySpan<byte>((void*)iov[i].Base, b.Length).CopyTo(b);
            buffers.Add(b);
        }
        return buffers;
    }

    /// <summary>The first <paramref name="received"/> bytes of the buffers back into the C iovec.</summary>
    private static void CopyOut(IList<ArraySegment<byte>> buffers, IoVec* iov, int received)
    {
        for (int i = 0; i < buffers.Count && received > 0; i++)
        {
            int n = Math.Min(received, buffers[i].Count);
            buffers[i].AsSpan(0, n).CopyTo(new Span<byte>((void*)iov[i].Base, n));
            received -= n;
        }
    }
}
