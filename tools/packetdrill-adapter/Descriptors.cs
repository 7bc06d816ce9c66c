using Microsoft.Win32.SafeHandles;

namespace UserStack.PacketdrillAdapter;

/// <summary>
/// The descriptor numbers packetdrill sees. Each socket holds a real descriptor of the process
/// (an open /dev/null) and packetdrill gets that number: at the end of a script packetdrill
/// closes the sockets the script left open with the libc close(), not through the interface,
/// and dies if that close fails, so the numbers must be real. Behind each number is a BsdSockets descriptor.
/// </summary>
internal sealed class Descriptors
{
    private readonly Dictionary<int, (int Socket, SafeFileHandle Placeholder)> map = new();
    private readonly object gate = new();

    /// <summary>A process descriptor number for the BsdSockets descriptor <paramref name="socket"/>.</summary>
    public int Add(int socket)
    {
        var placeholder = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read);
        int fd = (int)placeholder.DangerousGetHandle();
        lock (gate) map[fd] = (socket, placeholder);
        return fd;
    }

    /// <summary>The BsdSockets descriptor behind <paramref name="fd"/>, or -1 (then the call fails with EBADF).</summary>
    public int Socket(int fd)
    {
        lock (gate) return map.TryGetValue(fd, out var e) ? e.Socket : -1;
    }

    /// <summary>close(): forgets the number and closes its placeholder; the BsdSockets descriptor, or -1.</summary>
    public int Remove(int fd)
    {
        (int Socket, SafeFileHandle Placeholder) e;
        lock (gate)
        {
            if (!map.Remove(fd, out e)) return -1;
        }
        e.Placeholder.Dispose();
        return e.Socket;
    }

    /// <summary>
    /// At the end of the run: packetdrill has already closed the numbers of the sockets left open
    /// (with libc close), so their placeholders are let go without a second close.
    /// </summary>
    public void Abandon()
    {
        lock (gate)
        {
            foreach (var (_, e) in map) e.Placeholder.SetHandleAsInvalid();
            map.Clear();
        }
    }
}
