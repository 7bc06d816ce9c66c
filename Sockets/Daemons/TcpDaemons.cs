using System.Buffers;
using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Sockets.Daemons;

/// <summary>
/// The TCP side of the small services, async on <see cref="UserSocket"/>: echo (RFC 862) until
/// the client's FIN, discard (RFC 863), daytime (RFC 867) then close, chargen (RFC 864) until the
/// client goes away, and HTTP on port 80 (<see cref="HttpDaemon"/>).
/// </summary>
public sealed class TcpDaemons : IDisposable
{
    private readonly StackHost host;
    private readonly List<UserSocket> listeners = new();
    private readonly List<Task> loops = new();
    private readonly CancellationTokenSource stop = new();
    private readonly HttpDaemon http;

    public TcpDaemons(StackHost host, IEnumerable<DaemonKind> kinds, DateTime? startedAt = null)
    {
        this.host = host;
        http = new HttpDaemon(host, startedAt ?? DateTime.UtcNow);
        try
        {
            foreach (var kind in kinds)
            {
                var listener = UserSocket.Tcp(host);
                listener.ReuseAddress = true;
                listener.InlineCompletions = true; // the daemons' continuations never block: they run on the reader that woke them
                listener.Bind(new Endpoint(Ipv4Address.Any, kind.Port()));
                listener.Listen(128);
                listeners.Add(listener);
                Kinds.Add(kind);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        for (int i = 0; i < listeners.Count; i++)
        {
            var (kind, listener) = (Kinds[i], listeners[i]);
            loops.Add(Task.Run(() => AcceptLoop(kind, listener)));
        }
    }

    public List<DaemonKind> Kinds { get; } = new();
    public long Connections => Interlocked.Read(ref connections);
    private long connections;

    private async Task AcceptLoop(DaemonKind kind, UserSocket listener)
    {
        while (!stop.IsCancellationRequested)
        {
            UserSocket connection;
            try { connection = await listener.AcceptAsync(stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException) { return; }
            Interlocked.Increment(ref connections);
            _ = Serve(kind, connection); // runs to its first wait, then goes on where the connection's frames wake it
        }
    }

    private async Task Serve(DaemonKind kind, UserSocket connection)
    {
        try
        {
            switch (kind)
            {
                case DaemonKind.Echo:
                case DaemonKind.Discard:
                    // The buffer is rented only once there is something to read and returned at once,
                    // so an idle connection holds none (10,000 idle ones held 16 KiB each, issue 12).
                    for (bool more = true; more;)
                    {
                        await connection.WaitReadableAsync(stop.Token);
                        var buffer = ArrayPool<byte>.Shared.Rent(16384);
                        try
                        {
                            int n = await connection.ReceiveAsync(buffer, stop.Token);
                            more = n > 0;
                            if (more && kind == DaemonKind.Echo) await connection.SendAsync(buffer.AsMemory(0, n), stop.Token);
                        }
                        finally { ArrayPool<byte>.Shared.Return(buffer); }
                    }
                    break;
                case DaemonKind.Daytime:
                    await connection.SendAsync(DaemonKinds.Ascii.GetBytes(DaemonKinds.Daytime(DateTime.UtcNow)), stop.Token);
                    break;
                case DaemonKind.Chargen:
                    // 95 lines of 74 bytes make one full turn of the pattern; send it round and round.
                    var turn = DaemonKinds.Chargen(95 * 74);
                    while (true) await connection.SendAsync(turn, stop.Token);
                case DaemonKind.Http:
                    await http.Serve(connection, stop.Token);
                    break;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException) { }
        finally { connection.Close(); }
    }

    public void Dispose()
    {
        stop.Cancel();
        foreach (var l in listeners) l.Close();
        try { Task.WaitAll(loops.ToArray(), TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
