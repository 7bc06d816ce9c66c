using System.Diagnostics;
using System.Text.RegularExpressions;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>
/// TAP offloads against the real kernel: `ustack up` asks for them by default (IFF_VNET_HDR with
/// TUN_F_CSUM and TUN_F_TSO4), the kernel then sends GSO super-frames with checksums left undone and
/// cuts our TSO super-segments; `--no-offload` keeps every frame MTU-sized. Either way 8 MiB echoed
/// by the stack come back byte for byte (SHA-256), and no segment is dropped for its checksum.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class OffloadInteropTests
{
    [SetUp]
    public void RequireRoot() => Root.Require("python3");

    // 8 MiB of random bytes to the echo daemon on one thread while another reads them back; prints "OK <bytes>" when they match.
    private const string EchoClient = """
        import hashlib, os, socket, sys, threading
        data = os.urandom(8 << 20)
        s = socket.create_connection((sys.argv[1], 7), timeout=30)
        def write():
            s.sendall(data)
        t = threading.Thread(target=write); t.start()
        got = bytearray()
        while len(got) < len(data):
            b = s.recv(1 << 20)
            if not b: break
            got += b
        t.join()
        print(("OK" if hashlib.sha256(got).digest() == hashlib.sha256(data).digest() else "DIFFERENT"), len(got))
        """;

    private static (string Ready, string Counters, string Ethtool, string Client) EchoThrough(string address, params string[] extra)
    {
        var (tap, ns) = TapFixture.NewNames();
        using var up = UstackCli.Start(["up", "--tap", tap, "--ip", $"{address}/24", "--host-ip", $"{address[..address.LastIndexOf('.')]}.1/24", "--netns", ns, "--daemons", "echo", .. extra]);
        var errors = up.StandardError.ReadToEndAsync();
        string ready, ethtool, client;
        try
        {
            var readyTask = up.StandardOutput.ReadLineAsync();
            if (!readyTask.Wait(TimeSpan.FromSeconds(30))) Assert.Fail("no ready line within 30 s");
            ready = readyTask.Result ?? "";
            ethtool = Shell.Run("ip", ["netns", "exec", ns, "ethtool", "-k", tap], TimeSpan.FromSeconds(10)).Output;
            client = Shell.Run("ip", ["netns", "exec", ns, "python3", "-c", EchoClient, address], TimeSpan.FromSeconds(60)).Output.Trim();
        }
        finally
        {
            Shell.Run("kill", "-TERM", up.Id.ToString());
            if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
        }
        var counters = up.StandardOutput.ReadToEnd();
        Assert.That(up.ExitCode, Is.Zero, errors.Result);
        Assert.That(NetworkNamespace.Exists(ns), Is.False, "the namespace it created is gone");
        return (ready, counters, ethtool, client);
    }

    private static long Counter(string counters, string name)
    {
        var m = Regex.Match(counters, $@"^{Regex.Escape(name)}\s+(\d+)\s*$", RegexOptions.Multiline);
        return m.Success ? long.Parse(m.Groups[1].Value) : 0;
    }

    [Test]
    public void With_offloads_the_kernel_sends_super_frames_and_cuts_ours_and_every_byte_comes_back()
    {
        var (ready, counters, ethtool, client) = EchoThrough("10.89.5.2");
        Assert.That(ready, Does.Contain(" offload=tso4,csum "), ready);
        Assert.That(ethtool, Does.Contain("tcp-segmentation-offload: on").And.Contain("tx-checksumming: on"), "the kernel's side of the TAP offloads towards us");
        Assert.That(client, Is.EqualTo($"OK {8 << 20}"), "the echo came back byte for byte");
        Assert.That(Counter(counters, "Dropped.TcpBadChecksum"), Is.Zero, counters);
        long framesIn = Counter(counters, "FramesReceived"), bytesIn = Counter(counters, "BytesReceived");
        long framesOut = Counter(counters, "FramesSent"), bytesOut = Counter(counters, "BytesSent");
        TestContext.Out.WriteLine($"in: {framesIn} frames, {bytesIn / Math.Max(framesIn, 1)} B average; out: {framesOut} frames, {bytesOut / Math.Max(framesOut, 1)} B average");
        // 8 MiB each way in MTU-sized frames would be at least 5,800 data frames each way.
        Assert.That(bytesIn / (double)framesIn, Is.GreaterThan(1514), "the kernel handed us GSO super-frames larger than the MTU");
        Assert.That(bytesOut / (double)framesOut, Is.GreaterThan(1514), "we handed the kernel TSO super-segments larger than the MTU");
    }

    [Test]
    public void With_no_offload_every_frame_fits_the_MTU_and_every_byte_comes_back()
    {
        var (ready, counters, ethtool, client) = EchoThrough("10.89.6.2", "--no-offload");
        Assert.That(ready, Does.Contain(" offload=off "), ready);
        Assert.That(ethtool, Does.Contain("tcp-segmentation-offload: off"));
        Assert.That(client, Is.EqualTo($"OK {8 << 20}"));
        Assert.That(Counter(counters, "Dropped.TcpBadChecksum"), Is.Zero, counters);
        long framesIn = Counter(counters, "FramesReceived"), bytesIn = Counter(counters, "BytesReceived");
        Assert.That(framesIn, Is.GreaterThan((8 << 20) / 1448), "8 MiB came in MTU-sized frames");
        Assert.That(bytesIn / (double)framesIn, Is.LessThanOrEqualTo(1514));
    }
}
