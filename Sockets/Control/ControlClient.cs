using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace UserStack.Sockets.Control;

/// <summary>A control-socket request failed: no stack there, refused, or an answer we could not read. The message says which.</summary>
public sealed class ControlException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>The client side of <see cref="ControlServer"/>'s protocol: one line out, one JSON line back.</summary>
public static class ControlClient
{
    private const int MaxResponse = 16 << 20;

    /// <summary>The socket to ask: <paramref name="given"/>, else the only socket under <paramref name="directory"/>; a clear error when there is none or several.</summary>
    public static string Choose(string? given, string directory = ControlServer.DefaultDirectory)
    {
        if (given is not null) return given;
        var found = Directory.Exists(directory) ? Directory.GetFiles(directory, "*.sock").Order().ToArray() : [];
        return found.Length switch
        {
            1 => found[0],
            0 => throw new ControlException($"no running stack: no control socket under {directory} (start one with `ustack up`; only root can see them)"),
            _ => throw new ControlException($"several stacks run; pick one with --socket:\n  {string.Join("\n  ", found)}"),
        };
    }

    /// <summary>Asks <paramref name="path"/> for a snapshot.</summary>
    public static StackSnapshot Snapshot(string path, TimeSpan? timeout = null) =>
        Parse(path, Request(path, ControlServer.SnapshotRequest, timeout ?? TimeSpan.FromSeconds(5)));

    /// <summary>A response line as a snapshot; an {"error"} answer or anything else is a <see cref="ControlException"/>.</summary>
    public static StackSnapshot Parse(string path, string line)
    {
        try
        {
            if (line.Contains("\"error\"") && JsonSerializer.Deserialize(line, ControlJson.Default.ControlError) is { Error: { } error })
                throw new ControlException($"{path}: {error}");
            return JsonSerializer.Deserialize(line, ControlJson.Default.StackSnapshot)
                   ?? throw new ControlException($"{path} answered null");
        }
        catch (JsonException e) { throw new ControlException($"{path} answered something that is not a snapshot: {e.Message}", e); }
    }

    /// <summary>Sends one request line and returns the one response line (without its newline).</summary>
    public static string Request(string path, string request, TimeSpan timeout)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)timeout.TotalMilliseconds,
            SendTimeout = (int)timeout.TotalMilliseconds,
        };
        try { socket.Connect(new UnixDomainSocketEndPoint(path)); }
        catch (SocketException e) { throw new ControlException($"cannot reach the stack at {path}: {e.Message}", e); }
        var response = new MemoryStream();
        try
        {
            socket.Send(Encoding.UTF8.GetBytes(request + "\n"));
            var buffer = new byte[64 * 1024];
            while (response.Length < MaxResponse)
            {
                int n = socket.Receive(buffer);
                if (n == 0) break;
                response.Write(buffer, 0, n);
                if (buffer[n - 1] == (byte)'\n') break;
            }
        }
        catch (SocketException e) when (response.Length == 0)
        {
            throw new ControlException($"the stack at {path} closed without answering ({e.SocketErrorCode}): only root is answered", e);
        }
        if (response.Length == 0) throw new ControlException($"the stack at {path} closed without answering: only root is answered");
        return Encoding.UTF8.GetString(response.GetBuffer(), 0, (int)response.Length).TrimEnd('\n');
    }
}
