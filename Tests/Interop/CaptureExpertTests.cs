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
/// the discard daemon reads slower than the TAP delivers: "window full", "zero window"), the
/// kernel's own RST when the chargen client closes with unread data, and a D-SACK that names data
/// which really arrived twice (checked segment by segment below). Anything else (a
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
                        int n;
                        while (got < TenMegabytes && (n = s.Receive(buffer)) > 0) got += n; // chargen never ends: 0 here is a failure
                    }
                    return (total, got);
                });
                Assert.That(sent, Is.GreaterThanOrEqualTo(TenMegabytes));
                Assert.That(received, Is.GreaterThanOrEqualTo(TenMegabytes));
            }
            // Wireshark's expert summary, warnings and errors, one row per (severity, group, protocol, summary):
            // only TCP's own rows count (an application dissector guessing at chargen text may complain).
            var expert = Shell.Run("tshark", ["-r", pcap, "-n", "-q", "-z", "expert,warn"], TimeSpan.FromMinutes(3));
            Assert.That(expert.ExitCode, Is.Zero, $"tshark could not read the capture: {expert.Error}");
            string[] allowed = ["window specified by the receiver is now completely full", "Zero Window segment", "Connection reset (RST)", "D-SACK Sequence"];
            var warnings = expert.Output.Split('\n', StringSplitOptions.TrimEntries)
                .Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\d+\s+\S+\s+TCP\s"))
                .Where(l => !allowed.Any(a => l.Contains(a)))
                .ToList();
            Assert.That(warnings, Is.Empty, $"TCP expert warnings:\n{expert.Output}");
            // A D-SACK (RFC 2883) is right only when the data it names really arrived twice: a busy machine can
            // delay an ACK past the sender's tail-loss probe or RTO, and the receiver then reports the duplicate.
            Assert.That(UnexplainedDuplicateSacks(pcap), Is.Empty, "a D-SACK named data that was sent only once");
            // The only resets are the kernel's (the chargen client closing with unread data), never the stack's.
            var resets = Shell.Run("tshark", ["-r", pcap, "-n", "-Y", $"tcp.flags.reset == 1 && ip.src == {TapFixture.StackAddress.Address}",
                "-T", "fields", "-e", "frame.number"], TimeSpan.FromMinutes(3));
            Assert.That(resets.Output.Trim(), Is.Empty, "the stack sent a RST");
            var frames = Shell.Run("tshark", ["-r", pcap, "-n", "-Y", "tcp.len > 0", "-T", "fields", "-e", "frame.number"], TimeSpan.FromMinutes(3)).Output;
            Assert.That(frames.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, Is.GreaterThan(2 * TenMegabytes / 1448), "the capture holds the transfer");
        }
        finally { if (Environment.GetEnvironmentVariable("KEEP_PCAP") is null) File.Delete(pcap); }
    }

    /// <summary>Each D-SACK block whose range was not carried by at least two data segments from the other side.</summary>
    private static List<string> UnexplainedDuplicateSacks(string pcap)
    {
        var rows = Shell.Run("tshark", ["-r", pcap, "-n", "-Y", "tcp.len > 0 || tcp.options.sack.dsack_le", "-T", "fields",
            "-e", "frame.number", "-e", "tcp.stream", "-e", "ip.src", "-e", "tcp.seq", "-e", "tcp.len",
            "-e", "tcp.options.sack.dsack_le", "-e", "tcp.options.sack.dsack_re"], TimeSpan.FromMinutes(3)).Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        var data = rows.Where(r => r[4] != "0").Select(r => (Stream: r[1], Source: r[2], Seq: long.Parse(r[3]), End: long.Parse(r[3]) + long.Parse(r[4]))).ToList();
        var unexplained = new List<string>();
        foreach (var r in rows.Where(r => r.Length > 6 && r[5].Length > 0))
        {
            long left = long.Parse(r[5].Split(',')[0]), right = long.Parse(r[6].Split(',')[0]);
            int copies = data.Count(d => d.Stream == r[1] && d.Source != r[2] && d.Seq <= left && d.End >= right);
            if (copies < 2) unexplained.Add($"frame {r[0]}: D-SACK {left}-{right} from {r[2]}, carried {copies} time(s)");
        }
        return unexplained;
    }
}
