using UserStack.Tcp;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Fuzz;

// The socket calls, made the way the socket layer makes them (its range checks included).
public sealed partial class Harness
{
    private static readonly string[] CongestionNames = ["cubic", "newreno", "reno", "", "CUBIC", "bbr", "newreno\0", "cubic "];

    private void Call(CallAction a)
    {
        if (a.Call is SocketCall.Listen or SocketCall.Connect && (a.Value & 1) == 0) { Open(a); return; }
        if (sockets.Count == 0) return;
        var s = sockets[a.Socket % sockets.Count];
        Record(s.State, a.Call);
        switch (a.Call)
        {
            case SocketCall.Listen: stack.Tcp.Listen(s, Backlog(a.Value), now); break;
            case SocketCall.Connect: stack.Tcp.Connect(s, PeerEndpoint(a.Value), now); break;
            case SocketCall.Accept:
                if (s.TakeAccepted() is { } child)
                {
                    if (sockets.Count < MaxSockets) sockets.Add(child);
                    else Close(child);
                }
                break;
            case SocketCall.Send: s.Send(Buffer.AsSpan(0, Size(a.Value)), now, out _); break;
            case SocketCall.Receive: s.Receive(Buffer.AsSpan(0, Size(a.Value)), (a.Value & 0x1000_0000) != 0, now, out _); break;
            case SocketCall.ShutdownRead: s.ShutdownRead(); break;
            case SocketCall.ShutdownWrite: s.ShutdownWrite(now); break;
            case SocketCall.Close: Close(s); sockets.Remove(s); break;
            case SocketCall.Abort:
                // SO_LINGER 0 then close: a RST, and the connection is gone (a listener just closes).
                if (s.State == TcpState.Listen) Close(s); else s.Abort(now, Errno.Ok);
                sockets.Remove(s);
                break;
            case SocketCall.Status: _ = (s.Info, s.IsReadable, s.IsWritable, s.Available, s.Unacknowledged); break;
            case SocketCall.NoDelay:
                s.NoDelay = (a.Value & 1) != 0;
                if (s.NoDelay && s.State.IsSynchronized()) s.Output(now);
                break;
            case SocketCall.KeepAlive: s.SetKeepAlive((a.Value & 1) != 0, now); break;
            case SocketCall.KeepAliveIdle:
                if (Seconds(a.Value, 32767) is { } idle) { s.KeepAliveIdle = TimeSpan.FromSeconds(idle); if (s.KeepAlive) s.SetKeepAlive(true, now); }
                break;
            case SocketCall.KeepAliveInterval:
                if (Seconds(a.Value, 32767) is { } interval) { s.KeepAliveInterval = TimeSpan.FromSeconds(interval); if (s.KeepAlive) s.SetKeepAlive(true, now); }
                break;
            case SocketCall.KeepAliveCount:
                if (Seconds(a.Value, 127) is { } count) { s.KeepAliveCount = count; if (s.KeepAlive) s.SetKeepAlive(true, now); }
                break;
            case SocketCall.Congestion: s.SetCongestionControl(CongestionNames[a.Value % CongestionNames.Length]); break;
        }
    }

    /// <summary>A new socket that listens on port 80 or 81, or connects to the peer.</summary>
    private void Open(CallAction a)
    {
        if (sockets.Count >= MaxSockets) return;
        var s = stack.Tcp.Open();
        sockets.Add(s);
        Record(TcpState.Closed, a.Call);
        s.ReuseAddress = (a.Value & 8) != 0;
        if (a.Call == SocketCall.Listen)
        {
            if (stack.Tcp.Bind(s, new Endpoint(Ipv4Address.Any, Peer.StackPorts[(a.Value >> 1) & 1])) == Errno.Ok)
                stack.Tcp.Listen(s, Backlog(a.Value), now);
            return;
        }
        if ((a.Value & 4) != 0) stack.Tcp.Bind(s, new Endpoint(Ipv4Address.Any, Peer.StackPorts[(a.Value >> 1) & 1]));
        stack.Tcp.Connect(s, PeerEndpoint(a.Value), now);
    }

    private void Close(TcpConnection s) => stack.Tcp.Close(s, now);

    private static int Backlog(uint value) => (int)(value >> 8) % 9; // 0 (made 1 by the stack) to 8

    private static Endpoint PeerEndpoint(uint value) => new(FrameBuilder.PeerIp, Peer.PeerListenPorts[(value >> 1) & 1]);

    /// <summary>A send or receive size: small, around a window, around the send buffer, or zero.</summary>
    private static int Size(uint value) => (value >> 30) switch
    {
        0 => (int)(value % 2000),
        1 => (int)(value % 70_000),
        2 => (int)(value % (uint)Buffer.Length),
        _ => 0,
    };

    /// <summary>A socket option value: the smallest, the largest, or one at random; null when the socket layer refuses it (EINVAL).</summary>
    private static int? Seconds(uint value, int max)
    {
        int v = (value % 4) switch { 0 => 1, 1 => max, 2 => (int)((value >> 2) % (uint)(max + 10)), _ => 0 };
        return v < 1 || v > max ? null : v;
    }

    private void Record(TcpState state, SocketCall call)
    {
        if (map is null) return;
        var e = call switch
        {
            SocketCall.Listen or SocketCall.Connect => TcpEvent.CallOpen,
            SocketCall.Send => TcpEvent.CallSend,
            SocketCall.Receive => TcpEvent.CallReceive,
            SocketCall.Close or SocketCall.ShutdownWrite => TcpEvent.CallClose,
            SocketCall.Abort => TcpEvent.CallAbort,
            SocketCall.Status => TcpEvent.CallStatus,
            _ => (TcpEvent?)null,
        };
        if (e is { } ev) map.Record(state, ev);
    }
}
