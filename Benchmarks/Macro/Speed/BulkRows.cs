using UserStack.Sockets.Api;
using UserStack.Tools.Scene;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>
/// TCP bulk throughput with the one client of <see cref="TimedBulk"/>: kernel to kernel over the
/// lab's veth (offloads off or on), and kernel to UserStack's discard daemon and UserStack into a
/// kernel sink over the TAP.
/// </summary>
public static class BulkRows
{
    /// <summary>Kernel in A to a kernel sink in B across the veth, with the veth's offloads as asked.</summary>
    public static (BulkResult Result, string Note) KernelOverVeth(SpeedLab lab, bool offloads, TimeSpan duration)
    {
        string note = lab.SetVethOffloads(offloads);
        try
        {
            using var sink = new TimedBulk.KernelSink(lab.Kernel!, 5002);
            var r = TimedBulk.FromKernel(lab.Client, SpeedLab.KernelIp, 5002, duration);
            return (r, note);
        }
        finally { lab.SetVethOffloads(false); }
    }

    /// <summary>Host kernel to the stack's discard daemon (port 9), the same client as over the veth.</summary>
    public static BulkResult HostToStack(SpeedLab lab, TimeSpan duration) =>
        TimedBulk.FromKernel(lab.Client, SpeedLab.StackIp, 9, duration);

    /// <summary>A UserStack socket writes into a kernel sink on the host side of the TAP.</summary>
    public static BulkResult StackToHost(SpeedLab lab, TapScene scene, TimeSpan duration)
    {
        using var sink = new TimedBulk.KernelSink(lab.Client, 5001);
        using var client = UserSocket.Tcp(scene.Host);
        client.SendTimeout = client.ReceiveTimeout = TimedBulk.CloseWait;
        client.Connect(new Endpoint(Ipv4Address.Parse(SpeedLab.TapHostIp), 5001));
        return TimedBulk.Send(b => client.Send(b), () => client.Shutdown(System.Net.Sockets.SocketShutdown.Send), b => client.Receive(b), duration);
    }

    /// <summary>
    /// The same loop with the socket's async calls and <see cref="UserSocket.InlineCompletions"/>, as the
    /// daemons run (the discard daemon is the receiver of <see cref="HostToStack"/>): the sends continue on
    /// the reader thread that took the ACKs, instead of a blocked thread woken for each third of the buffer.
    /// </summary>
    public static BulkResult StackToHostAsync(SpeedLab lab, TapScene scene, TimeSpan duration)
    {
        using var sink = new TimedBulk.KernelSink(lab.Client, 5003);
        using var client = UserSocket.Tcp(scene.Host);
        client.InlineCompletions = true;
        client.SendTimeout = client.ReceiveTimeout = TimedBulk.CloseWait;
        client.Connect(new Endpoint(Ipv4Address.Parse(SpeedLab.TapHostIp), 5003));
        return TimedBulk.SendAsync(client, duration).GetAwaiter().GetResult();
    }

    /// <summary>Both UserStack directions on a fresh stack, offloads as asked (the rows of the table): in, out from a blocking thread, out async.</summary>
    public static (BulkResult In, BulkResult Out, BulkResult OutAsync) OverTheStack(SpeedLab lab, bool offload, TimeSpan duration)
    {
        var (scene, daemons) = lab.StartStack(offload);
        using (scene)
        using (daemons)
            return (HostToStack(lab, duration), StackToHost(lab, scene, duration), StackToHostAsync(lab, scene, duration));
    }
}
