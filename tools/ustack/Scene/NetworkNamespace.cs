using System.Runtime.InteropServices;

namespace UserStack.Tools.Scene;

/// <summary>
/// A Linux network namespace handled through iproute2 (`ip netns`). Everything our tests and
/// demos configure lives in one of these, never in the machine's own namespace.
/// </summary>
public sealed partial class NetworkNamespace : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int type);

    private readonly bool owned;
    private bool disposed;

    private NetworkNamespace(string name, bool owned)
    {
        Name = name;
        this.owned = owned;
    }

    public string Name { get; }

    /// <summary>True when this process runs in the machine's initial network namespace (same inode as PID 1's).</summary>
    public static bool InInitialNamespace()
    {
        try
        {
            var self = new FileInfo("/proc/self/ns/net").ResolveLinkTarget(false)?.ToString();
            var init = new FileInfo("/proc/1/ns/net").ResolveLinkTarget(false)?.ToString();
            return self is null || init is null || self == init;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true; // cannot tell: assume the worst
        }
    }

    public static bool Exists(string name) => File.Exists($"/var/run/netns/{name}") || File.Exists($"/run/netns/{name}");

    /// <summary>Creates a namespace that this object owns and deletes on Dispose.</summary>
    public static NetworkNamespace Create(string name)
    {
        Validate(name);
        if (Exists(name)) throw new InvalidOperationException($"network namespace '{name}' already exists");
        Shell.Run("ip", "netns", "add", name).ThrowIfFailed();
        var ns = new NetworkNamespace(name, owned: true);
        ns.Ip("link", "set", "lo", "up");
        return ns;
    }

    /// <summary>Uses an existing namespace, or creates (and then owns) it.</summary>
    public static NetworkNamespace OpenOrCreate(string name)
    {
        Validate(name);
        return Exists(name) ? new NetworkNamespace(name, owned: false) : Create(name);
    }

    public bool Owned => owned;

    /// <summary>`ip -n NAME ARGS...`, throwing on failure.</summary>
    public CommandResult Ip(params string[] arguments) => Shell.Run("ip", ["-n", Name, .. arguments]).ThrowIfFailed();

    /// <summary>Runs a program inside the namespace (`ip netns exec`).</summary>
    public CommandResult Exec(TimeSpan timeout, string program, params string[] arguments) =>
        Shell.Run("ip", ["netns", "exec", Name, program, .. arguments], timeout);

    /// <summary>Moves an interface of the current namespace into this one (it keeps working for its owner).</summary>
    public void Adopt(string interfaceName) => Shell.Run("ip", "link", "set", interfaceName, "netns", Name).ThrowIfFailed();

    /// <summary>
    /// Runs <paramref name="action"/> on a fresh thread that has entered this namespace (setns),
    /// so that sockets it creates live there: a System.Net.Sockets client on the host side,
    /// without a second process. The thread ends afterwards; sockets keep their namespace.
    /// </summary>
    public T RunInside<T>(Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{Name}");
                if (SetNs((int)handle.DangerousGetHandle(), CLONE_NEWNET) != 0)
                    throw new InvalidOperationException($"setns({Name}) failed: errno {Marshal.GetLastPInvokeError()} (needs root)");
                result = action();
            }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true, Name = $"netns:{Name}" };
        thread.Start();
        thread.Join();
        if (failure is not null) throw new AggregateException($"inside namespace {Name}", failure);
        return result;
    }

    /// <summary>A kernel TCP socket of this namespace listening on 0.0.0.0:<paramref name="port"/> (a host-side server).</summary>
    public System.Net.Sockets.Socket ListenTcp(int port, int backlog = 4) => RunInside(() =>
    {
        var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, port));
        listener.Listen(backlog);
        return listener;
    });

    private static void Validate(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains('/') || name.Length > 64)
            throw new ArgumentException($"'{name}' is not a usable namespace name", nameof(name));
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (owned) Shell.Run("ip", "netns", "del", Name);
    }
}
