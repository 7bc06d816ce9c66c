using System.Net.Sockets;
using System.Reflection;
using System.Text;
using UserStack.Tcp;

namespace UserStack.Benchmarks.Macro;

/// <summary>
/// The congestion control a lossy run asks for, applied to both sides: UserStack through
/// <c>TcpOptions.CongestionControl</c> (an enum or string property, looked up by name so this
/// driver needs no change when the TCP core adds it), and the kernel per socket with
/// TCP_CONGESTION (reno is Linux's NewReno). Per socket, because a namespace other than the
/// machine's may only default to the algorithms in the machine-wide allowed list, which is not ours to change.
/// </summary>
public sealed class CongestionControlChoice
{
    private const string PropertyName = "CongestionControl";

    private CongestionControlChoice(string name, TcpOptions options, string stackNote)
    {
        Name = name;
        StackOptions = options;
        StackNote = stackNote;
    }

    public string Name { get; }
    public TcpOptions StackOptions { get; }
    /// <summary>What UserStack runs, in words.</summary>
    public string StackNote { get; }
    public string KernelName => Name == "newreno" ? "reno" : Name;

    public static CongestionControlChoice For(string name)
    {
        name = name.ToLowerInvariant();
        var options = new TcpOptions();
        var property = typeof(TcpOptions).GetProperty(PropertyName, BindingFlags.Public | BindingFlags.Instance);
        if (property is null || !property.CanWrite)
            return new(name, options, $"UserStack has no TcpOptions.{PropertyName} yet: it runs its built-in loss recovery; '{name}' applies to the kernel only");
        object value;
        if (property.PropertyType == typeof(string)) value = name;
        else if (property.PropertyType.IsEnum && Enum.TryParse(property.PropertyType, name, ignoreCase: true, out var parsed)) value = parsed!;
        else throw new ArgumentException($"UserStack's TcpOptions.{PropertyName} ({property.PropertyType.Name}) has no '{name}'; it knows {Known(property.PropertyType)}");
        property.SetValue(options, value); // an init-only setter, on our own fresh copy
        options.Validate(); // an unknown name fails here, before any namespace is made
        return new(name, options, $"UserStack runs TcpOptions.{PropertyName} = {property.GetValue(options)}");
    }

    private static string Known(Type type) => type.IsEnum ? string.Join(", ", Enum.GetNames(type)) : type.Name;

    private const int IpProtoTcp = 6, TcpCongestion = 13; // <netinet/tcp.h>

    /// <summary>Sets TCP_CONGESTION on a kernel socket (root may pick any available algorithm); the note says what it runs.</summary>
    public string ApplyTo(Socket socket)
    {
        try { socket.SetRawSocketOption(IpProtoTcp, TcpCongestion, Encoding.ASCII.GetBytes(KernelName)); }
        catch (SocketException e) { return $"kernel: could not set {KernelName} ({e.SocketErrorCode}), runs {Current(socket)}"; }
        return $"kernel: {Current(socket)}";
    }

    private static string Current(Socket socket)
    {
        var name = new byte[16];
        int n = socket.GetRawSocketOption(IpProtoTcp, TcpCongestion, name);
        return Encoding.ASCII.GetString(name, 0, n).TrimEnd('\0');
    }
}
