using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using UserStack.Tools.Scene;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>What the C reader counted while the kernel flooded the TAP.</summary>
public readonly record struct CeilingResult(long Frames, long Bytes, long Sent, TimeSpan Elapsed)
{
    public double Gbps => Bytes * 8 / Elapsed.TotalSeconds / 1e9;
    public double FramesPerSecond => Frames / Elapsed.TotalSeconds;
    public double ShareOfSent => Sent > 0 ? Frames / (double)Sent : 0;
}

/// <summary>
/// The raw TAP ceiling: a C program (tap_count.c, compiled with gcc at run time) attaches to a
/// persistent TAP in the client namespace and only counts frames, while a kernel socket there
/// floods 1472-byte UDP datagrams (1514-byte frames) at a neighbour behind the TAP. The flood is
/// bounded by the duration; the reader by its own limit and by the end of its standard input.
/// </summary>
public static class TapCeiling
{
    private const string Subnet = "10.98.2";

    public static CeilingResult Measure(NetworkNamespace ns, TimeSpan duration)
    {
        var dir = Directory.CreateTempSubdirectory("usspeed-");
        string tap = $"usraw{Environment.ProcessId % 10000}";
        bool made = false;
        try
        {
            string reader = Compile(dir.FullName);
            ns.Ip("tuntap", "add", "dev", tap, "mode", "tap");
            made = true;
            ns.Ip("link", "set", tap, "txqueuelen", TapScene.TxQueueLength, "up");
            ns.Ip("addr", "add", $"{Subnet}.1/24", "dev", tap);
            ns.Ip("neigh", "add", $"{Subnet}.2", "lladdr", "02:00:00:00:98:02", "dev", tap);

            var info = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "netns", "exec", ns.Name, reader, tap, (duration.TotalSeconds + 30).ToString(CultureInfo.InvariantCulture) }) info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            try
            {
                var ready = process.StandardOutput.ReadLineAsync();
                if (!ready.Wait(TimeSpan.FromSeconds(10)) || ready.Result != "ready")
                    throw new InvalidOperationException($"tap_count did not start: {process.StandardError.ReadToEnd()}");
                var (sent, elapsed) = Flood(ns, duration);
                Thread.Sleep(100);                 // let the reader drain its queue
                process.StandardInput.Close();     // stop
                var counts = process.StandardOutput.ReadLineAsync();
                if (!counts.Wait(TimeSpan.FromSeconds(10)) || counts.Result is not { } line)
                    throw new InvalidOperationException($"tap_count gave no counts: {process.StandardError.ReadToEnd()}");
                var parts = line.Split(' ');
                return new CeilingResult(long.Parse(parts[0]), long.Parse(parts[1]), sent, elapsed);
            }
            finally
            {
                if (!process.WaitForExit(TimeSpan.FromSeconds(5))) process.Kill();
            }
        }
        finally
        {
            if (made) ns.Exec(TimeSpan.FromSeconds(10), "ip", "tuntap", "del", "dev", tap, "mode", "tap");
            dir.Delete(recursive: true);
        }
    }

    private static (long Sent, TimeSpan Elapsed) Flood(NetworkNamespace ns, TimeSpan duration) => ns.RunInside(() =>
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Connect(new IPEndPoint(IPAddress.Parse($"{Subnet}.2"), 9));
        var payload = new byte[1472];
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed < duration) { s.Send(payload); n++; }
        return (n, clock.Elapsed);
    });

    /// <summary>Writes the embedded tap_count.c into <paramref name="dir"/> and compiles it with gcc -O2.</summary>
    private static string Compile(string dir)
    {
        string source = Path.Combine(dir, "tap_count.c"), binary = Path.Combine(dir, "tap_count");
        using (var resource = typeof(TapCeiling).Assembly.GetManifestResourceStream("tap_count.c")
            ?? throw new InvalidOperationException("tap_count.c is not embedded in the benchmark assembly"))
        using (var file = File.Create(source)) resource.CopyTo(file);
        Shell.Run("gcc", ["-O2", "-Wall", "-o", binary, source], TimeSpan.FromSeconds(60)).ThrowIfFailed();
        return binary;
    }
}
