using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using UserStack.Sockets.Daemons;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>
/// Wireshark as a referee: a capture of 10 MB each way between the kernel and UserStack (into
/// discard, out of chargen) carries no TCP expert warning or error but two kinds that are correct
/// behaviour here: flow control (the kernel fills our window exactly and we advertise zero while
/// the discard daemon reads slower than the TAP delivers: "window full", "zero window") and the
/// kernel's own RST when the chargen client closes with unread data. Anything else (a
/// retransmission, out-of-order or duplicate ACK on a clean link, a segment beyond the window,
/// an ACK of unseen data, a malformed option) is ours.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class CaptureExpertTests
{
    private const int TenMegabytes = 10 * 1024 * 1024;

    [Test]
    public void Tshark_finds_no_tcp_expert_warnings_in_ten_megabytes_each_way()
    {
        Root.Require("tshark");
        var pcap = Path.Combine(Path.GetTempPath(), $"ustack-expert-{Environment.ProcessId}.pcap");
        try
        {
            using (var scene = TapFixture.Start(pcap: pcap))
            using (new TcpDaemons(scene.Host, [DaemonKind.Discard, DaemonKind.Chargen]))
            {
                var stack = new IPEndPoint(TapFixture.StackAddress.Address.ToIPAddress(), 0);
                var (sent, received) = scene.Namespace!.RunInside(() =>
                {
                    long total = 0;
                    using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 20000, SendTimeout = 20000 })
                    {
                        s.Connect(new IPEndPoint(stack.Address, 9));
                        var chunk = RandomNumberGenerator.GetBytes(65536);
                        while (total < TenMegabytes) total += s.Send(chunk);
                        s.Shutdown(SocketShutdown.Send);
                        s.Receive(new byte[1]);
                    }
                    long got = 0;
                    using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 20000 })
                    {
                        s.Connect(new IPEndPoint(stack.Address, 19));
                        var buffer = new byte[65536];
                        while (got < TenMegabytes) got += s.Receive(buffer);
                    }
                    return (total, got);
                });
                Assert.That(sent, Is.GreaterThanOrEqualTo(TenMegabytes));
                Assert.That(received, Is.GreaterThanOrEqualTo(TenMegabytes));
            }
            // _ws.expert.severity: 6291456 is "warning", 8388608 "error".
            var expert = Shell.Run("tshark", ["-r", pcap, "-n", "-Y",
                "tcp && _ws.expert.severity >= 6291456 && !tcp.analysis.zero_window && !tcp.analysis.window_full && !(tcp.flags.reset == 1 && ip.src == " + TapFixture.HostAddress.Address + ")",
                "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"], TimeSpan.FromMinutes(3));
            Assert.That(expert.ExitCode, Is.Zero, $"tshark could not read the capture: {expert.Error}");
            var warnings = expert.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.That(warnings, Is.Empty, $"{warnings.Length} TCP expert warnings, first: {string.Join(" | ", warnings.Take(10))}");
            var frames = Shell.Run("tshark", ["-r", pcap, "-n", "-Y", "tcp.len > 0", "-T", "fields", "-e", "frame.number"], TimeSpan.FromMinutes(3)).Output;
            Assert.That(frames.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, Is.GreaterThan(2 * TenMegabytes / 1448), "the capture holds the transfer");
        }
        finally { if (Environment.GetEnvironmentVariable("KEEP_PCAP") is null) File.Delete(pcap); }
    }
}
