using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Transport;

namespace UserStack.Sockets.Daemons;

/// <summary>
/// The UDP side of the small services, each a thread on a blocking <see cref="UserSocket"/>
/// bound to 0.0.0.0:port: echo answers with the same datagram (RFC 862), discard keeps quiet
/// (RFC 863), daytime answers with the date (RFC 867), chargen with 0-512 characters of its
/// pattern (RFC 864).
/// </summary>
public sealed class UdpDaemons : IDisposable
{
    private readonly List<(UserSocket Socket, Thread Thread)> running = new();

    public UdpDaemons(StackHost host, IEnumerable<DaemonKind> kinds)
    {
        try
        {
            foreach (var kind in kinds.Where(k => k != DaemonKind.Http))
            {
                var socket = UserSocket.Udp(host);
                socket.Bind(new Endpoint(Wire.Ipv4Address.Any, kind.Port()));
                var thread = new Thread(() => Serve(kind, socket)) { IsBackground = true, Name = $"udp-{kind}" };
                running.Add((socket, thread));
                Kinds.Add(kind);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        foreach (var (_, thread) in running) thread.Start();
    }

    public List<DaemonKind> Kinds { get; } = new();
    public long Answered => Interlocked.Read(ref answered);
    private long answered;

    private void Serve(DaemonKind kind, UserSocket socket)
    {
        var buffer = new byte[65536];
        var random = new Random();
        int line = 0;
        while (true)
        {
            var e = socket.TryReceiveFrom(buffer, SocketFlags.None, out var r);
            if (e == Errno.EBADF) return; // closed: the daemon stops
            if (e != Errno.Ok) continue;  // e.g. ECONNREFUSED left by an ICMP error: keep serving
            ReadOnlySpan<byte> reply = kind switch
            {
                DaemonKind.Echo => buffer.AsSpan(0, r.Length),
                DaemonKind.Daytime => DaemonKinds.Ascii.GetBytes(DaemonKinds.Daytime(DateTime.UtcNow)),
                DaemonKind.Chargen => DaemonKinds.Chargen(random.Next(0, 513), line++),
                _ => default,
            };
            if (kind == DaemonKind.Discard) continue;
            if (socket.TrySendTo(reply, r.From, out _) == Errno.Ok) Interlocked.Increment(ref answered);
        }
    }

    public void Dispose()
    {
        foreach (var (socket, _) in running) socket.Close();
        foreach (var (_, thread) in running) if (thread.IsAlive) thread.Join(TimeSpan.FromSeconds(5));
        running.Clear();
    }
}
