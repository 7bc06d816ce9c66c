using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace UserStack.Sockets.Control;

/// <summary>
/// The control socket of a running stack (`ustack up`): a Unix stream socket under
/// /run/ustack/ (directory 0700, socket 0600) that answers `ustack netstat` and `ustack top`.
/// It is read-only and tiny; docs/control-socket.md is the protocol:
/// the client sends one line, "snapshot", and reads one line back, a <see cref="StackSnapshot"/>
/// as JSON (any other request gets {"error": "..."}); then the server closes. Only the peer
/// user <see cref="AllowedUid"/> (root) is answered: the kernel's SO_PEERCRED says who connected;
/// anyone else is closed on at once, counted in <see cref="Refused"/> and logged.
/// </summary>
public sealed class ControlServer : IDisposable
{
    public const string DefaultDirectory = "/run/ustack";
    public const string SnapshotRequest = "snapshot";
    private const int MaxRequest = 256;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly Socket listener;
    private readonly Func<StackSnapshot> snapshot;
    private readonly Action<string>? log;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task acceptLoop;
    private long answered, refused;

    private ControlServer(string path, Socket listener, Func<StackSnapshot> snapshot, uint allowedUid, Action<string>? log)
    {
        Path = path;
        this.listener = listener;
        this.snapshot = snapshot;
        AllowedUid = allowedUid;
        this.log = log;
        acceptLoop = Task.Run(AcceptLoop);
    }

    public string Path { get; }
    /// <summary>The one user the server answers (0: root).</summary>
    public uint AllowedUid { get; }
    public long Answered => Interlocked.Read(ref answered);
    /// <summary>Connections closed unanswered because the peer was another user.</summary>
    public long Refused => Interlocked.Read(ref refused);

    /// <summary>
    /// Listens on <paramref name="path"/>: makes its directory (0700) if needed, replaces a
    /// stale socket file there (one nobody listens on), binds and sets the file to 0600.
    /// Throws IOException when a live stack already listens at the path.
    /// </summary>
    public static ControlServer Start(string path, Func<StackSnapshot> snapshot, uint allowedUid = 0, Action<string>? log = null)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the control socket needs Linux (Unix file modes, SO_PEERCRED)");
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (!Directory.Exists(directory)) Directory.CreateDirectory(directory, DirectoryMode);
        else if (directory == DefaultDirectory) File.SetUnixFileMode(directory, DirectoryMode);
        if (File.Exists(path))
        {
            if (IsLive(path)) throw new IOException($"a stack already answers at {path}");
            File.Delete(path);
        }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, SocketMode);
            listener.Listen(16);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new ControlServer(path, listener, snapshot, allowedUid, log);
    }

    /// <summary>
    /// The path for a stack whose first interface is <paramref name="interfaceName"/>:
    /// DIRECTORY/NAME.sock, or DIRECTORY/NAME.PID.sock when another live stack holds that name
    /// (a pcap device of the same name in another namespace).
    /// </summary>
    public static string PathFor(string interfaceName, string directory = DefaultDirectory)
    {
        var plain = System.IO.Path.Combine(directory, interfaceName + ".sock");
        return File.Exists(plain) && IsLive(plain) ? System.IO.Path.Combine(directory, $"{interfaceName}.{Environment.ProcessId}.sock") : plain;
    }

    /// <summary>True when something accepts connections at <paramref name="path"/>.</summary>
    public static bool IsLive(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { probe.Connect(new UnixDomainSocketEndPoint(path)); return true; }
        catch (SocketException) { return false; }
    }

    private async Task AcceptLoop()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptAsync(stopping.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(Socket client)
    {
        using (client)
        {
            if (!TryPeer(client, out int pid, out uint uid) || uid != AllowedUid)
            {
                Interlocked.Increment(ref refused);
                log?.Invoke($"control socket: refused a client (pid {pid}, uid {(pid == 0 ? "unknown" : uid.ToString())}): only uid {AllowedUid} is answered");
                return;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
            timeout.CancelAfter(RequestTimeout);
            try
            {
                var request = await ReadLine(client, timeout.Token);
                var reply = Answer(request);
                await client.SendAsync(reply, SocketFlags.None, timeout.Token);
                Interlocked.Increment(ref answered);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        }
    }

    /// <summary>The response line to one request line: a snapshot, or an error naming what is understood.</summary>
    internal byte[] Answer(string? request)
    {
        string json = request?.Trim() == SnapshotRequest
            ? JsonSerializer.Serialize(snapshot(), ControlJson.Default.StackSnapshot)
            : JsonSerializer.Serialize(new ControlError($"unknown request '{request?.Trim()}': the only request is '{SnapshotRequest}'"), ControlJson.Default.ControlError);
        return Encoding.UTF8.GetBytes(json + "\n");
    }

    /// <summary>One request line (up to <see cref="MaxRequest"/> bytes, without its newline); null when the client sent none.</summary>
    private static async Task<string?> ReadLine(Socket client, CancellationToken cancel)
    {
        var buffer = new byte[MaxRequest];
        int count = 0;
        while (count < buffer.Length)
        {
            int n = await client.ReceiveAsync(buffer.AsMemory(count), SocketFlags.None, cancel);
            if (n == 0) break;
            int newline = Array.IndexOf(buffer, (byte)'\n', count, n);
            count += n;
            if (newline >= 0) return Encoding.UTF8.GetString(buffer, 0, newline);
        }
        return count == 0 ? null : Encoding.UTF8.GetString(buffer, 0, count);
    }

    private const int SolSocket = 1, SoPeerCred = 17; // <asm-generic/socket.h>

    /// <summary>SO_PEERCRED: the process and user that connected (struct ucred: pid, uid, gid), as the kernel recorded them at connect().</summary>
    private static bool TryPeer(Socket client, out int pid, out uint uid)
    {
        Span<byte> ucred = stackalloc byte[12];
        pid = 0; uid = uint.MaxValue;
        try
        {
            if (client.GetRawSocketOption(SolSocket, SoPeerCred, ucred) < 12) return false;
        }
        catch (SocketException) { return false; }
        pid = MemoryMarshal.Read<int>(ucred);
        uid = MemoryMarshal.Read<uint>(ucred[4..]);
        return true;
    }

    /// <summary>Stops answering and removes the socket file.</summary>
    public void Dispose()
    {
        if (stopping.IsCancellationRequested) return;
        stopping.Cancel();
        listener.Dispose();
        try { acceptLoop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        try { File.Delete(Path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
