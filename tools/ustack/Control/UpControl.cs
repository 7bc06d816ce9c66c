using UserStack.Drivers;
using UserStack.Drivers.Faults;
using UserStack.Drivers.Tap;
using UserStack.Sockets.Control;
using UserStack.Tools.Scene;

namespace UserStack.Tools.Control;

/// <summary>`ustack up`'s control socket: /run/ustack/FIRST-INTERFACE.sock, serving snapshots of the scene's stack until disposed.</summary>
public static class UpControl
{
    /// <summary>Starts the server, or says on standard error why the stack runs without one (null then).</summary>
    public static ControlServer? Start(TapScene scene)
    {
        try
        {
            var path = ControlServer.PathFor(scene.Device.Name);
            return ControlServer.Start(path, () => StackSnapshot.Take(scene.Host, i => Counters(scene, i)),
                log: line => { lock (Console.Error) Console.Error.WriteLine($"ustack up: {line}"); });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"ustack up: note: no control socket (ustack netstat/top will not see this stack): {e.Message}");
            return null;
        }
    }

    /// <summary>The counters of the device under interface <paramref name="link"/>: the first device for the first interface, the added links' after.</summary>
    private static DeviceCounters? Counters(TapScene scene, NetworkInterface link)
    {
        var device = link.Index == scene.Stack.Primary.Index ? scene.Device
            : scene.Host.Links.FirstOrDefault(l => l.Link == link).Device;
        return Of(device);
    }

    private static DeviceCounters? Of(IFrameDevice? device) => device switch
    {
        TapDevice t => new(t.FramesRead, t.FramesWritten, t.WriteErrors),
        Drivers.Pcap.PcapLiveDevice p => new(p.FramesRead, p.FramesWritten, p.WriteErrors),
        FaultInjectingDevice f => Of(f.Inner),
        _ => null,
    };
}
