using System.Runtime.InteropServices;

namespace UserStack.PacketdrillAdapter;

/// <summary>
/// packetdrill's struct packetdrill_interface (packetdrill.h), field for field, on x86-64:
/// every entry takes the userdata pointer first. Socket calls return -1 and set errno on failure
/// (run_system_call.c reads errno right after the call); netdev_send and netdev_receive return 0
/// or -1 (so_testing.c calls netdev_receive again after -1, and parses what came after 0).
/// fcntl and ioctl are variadic in C; on x86-64 a variadic int or pointer arrives in the same
/// register as a fixed one, so they are declared with their one optional argument.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PacketdrillInterface
{
    public nint UserData;
    public delegate* unmanaged<nint, void> Free;
    public delegate* unmanaged<nint, int, int, int, int> Socket;
    public delegate* unmanaged<nint, int, byte*, uint, int> Bind;
    public delegate* unmanaged<nint, int, int, int> Listen;
    public delegate* unmanaged<nint, int, byte*, uint*, int> Accept;
    public delegate* unmanaged<nint, int, byte*, uint, int> Connect;
    public delegate* unmanaged<nint, int, byte*, nuint, nint> Read;
    public delegate* unmanaged<nint, int, LinuxAbi.IoVec*, int, nint> Readv;
    public delegate* unmanaged<nint, int, byte*, nuint, int, nint> Recv;
    public delegate* unmanaged<nint, int, byte*, nuint, int, byte*, uint*, nint> RecvFrom;
    public delegate* unmanaged<nint, int, LinuxAbi.MsgHdr*, int, nint> RecvMsg;
    public delegate* unmanaged<nint, int, byte*, nuint, nint> Write;
    public delegate* unmanaged<nint, int, LinuxAbi.IoVec*, int, nint> Writev;
    public delegate* unmanaged<nint, int, byte*, nuint, int, nint> Send;
    public delegate* unmanaged<nint, int, byte*, nuint, int, byte*, uint, nint> SendTo;
    public delegate* unmanaged<nint, int, LinuxAbi.MsgHdr*, int, nint> SendMsg;
    public delegate* unmanaged<nint, int, int, nint, int> Fcntl;
    public delegate* unmanaged<nint, int, nuint, int*, int> Ioctl;
    public delegate* unmanaged<nint, int, int> Close;
    public delegate* unmanaged<nint, int, int, int> Shutdown;
    public delegate* unmanaged<nint, int, int, int, byte*, uint*, int> GetSockOpt;
    public delegate* unmanaged<nint, int, int, int, byte*, uint, int> SetSockOpt;
    public delegate* unmanaged<nint, LinuxAbi.PollFd*, nuint, int, int> Poll;
    public delegate* unmanaged<nint, byte*, nuint, int> NetdevSend;
    public delegate* unmanaged<nint, byte*, nuint*, long*, int> NetdevReceive;
    public delegate* unmanaged<nint, uint, int> Usleep;
    public delegate* unmanaged<nint, LinuxAbi.TimeVal*, void*, int> GetTimeOfDay;
    public delegate* unmanaged<nint, int, int> EpollCreate;
    public delegate* unmanaged<nint, int, int, int, void*, int> EpollCtl;
    public delegate* unmanaged<nint, int, void*, int, int, int> EpollWait;
    public delegate* unmanaged<nint, int*, int> Pipe;
    public delegate* unmanaged<nint, int, long*, int, long*, nuint, uint, int> Splice;
}
