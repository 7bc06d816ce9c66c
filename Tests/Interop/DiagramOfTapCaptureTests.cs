using System.Diagnostics;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>
/// `ustack diagram` and `ustack graph` on a capture made the real way: `ustack up --pcap` on a TAP in a
/// private namespace, the kernel's nc talking to the echo daemon, with a JSON trace on standard output, then both commands
/// as a user runs them, on the capture and on the trace.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class DiagramOfTapCaptureTests
{
    [SetUp]
    public void RequireRoot() => Root.Require("nc");

    private static Process Ustack(params string[] arguments) => UstackCli.Start(arguments);

    [Test]
    public void A_capture_of_an_echo_over_the_tap_renders_as_a_ladder_mermaid_svg_and_graphs()
    {
        var (tap, ns) = TapFixture.NewNames();
        var dir = Directory.CreateTempSubdirectory("ustack-diagram-tap-").FullName;
        var pcap = Path.Combine(dir, "echo.pcapng");
        var trace = Path.Combine(dir, "echo.jsonl");
        try
        {
            using (var up = Ustack("up", "--tap", tap, "--ip", "10.89.3.2/24", "--host-ip", "10.89.3.1/24", "--netns", ns, "--daemons", "echo", "--pcap", pcap, "--trace", "tcp", "--trace-format", "json"))
            {
                var errors = up.StandardError.ReadToEndAsync();
                var kept = new List<string>(); // all of standard output, as `ustack up ... > echo.jsonl` keeps it
                try
                {
                    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                    while (kept.Count == 0 || !kept[^1].StartsWith("ready ")) // the listener's trace lines come first
                    {
                        var line = up.StandardOutput.ReadLineAsync();
                        if (!line.Wait(deadline - DateTime.UtcNow) || line.Result is null) Assert.Fail($"no ready line within 30 s: {(errors.IsCompleted ? errors.Result : "")}");
                        kept.Add(line.Result!);
                    }
                    File.WriteAllText(Path.Combine(dir, "in.txt"), "hello ladder\n");
                    var echo = Shell.Run("ip", ["netns", "exec", ns, "sh", "-c", $"nc -N -w 5 10.89.3.2 7 < {Path.Combine(dir, "in.txt")}"], TimeSpan.FromSeconds(20));
                    Assert.That(echo.Output, Is.EqualTo("hello ladder\n"), echo.Error);
                }
                finally
                {
                    Shell.Run("kill", "-INT", up.Id.ToString());
                    if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
                }
                Assert.That(up.ExitCode, Is.Zero, errors.Result);
                File.WriteAllLines(trace, [.. kept, up.StandardOutput.ReadToEnd()]);
            }

            string Run(params string[] arguments)
            {
                using var p = Ustack(arguments);
                var output = p.StandardOutput.ReadToEndAsync();
                var error = p.StandardError.ReadToEnd();
                Assert.That(p.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, $"ustack {string.Join(' ', arguments)} did not finish");
                Assert.That(p.ExitCode, Is.Zero, $"ustack {string.Join(' ', arguments)}: {error}");
                return output.Result;
            }

            var ladder = Run("diagram", pcap, "--port", "7");
            Assert.That(ladder, Does.Contain("10.89.3.2:7").And.Contain("10.89.3.1:"));
            Assert.That(ladder, Does.Match(@"\|-+ \[S\] seq 0 win \d+ -+>\|  received: delivered to TCP 10\.89\.3\.2:7"), "the kernel's SYN, with the stack's comment");
            Assert.That(ladder, Does.Match(@"\|<-+ \[S\.\] seq 0 ack 1 win \d+ -+\|  sent: SYN-ACK: answering a SYN"));
            Assert.That(ladder, Does.Contain("len 13"), "the echoed line");
            Assert.That(ladder, Does.Not.Contain("\e["), "plain when piped");
            var fromTrace = Run("diagram", trace);
            Assert.That(fromTrace, Does.Contain("10.89.3.2:7: CLOSED → SYN-RECEIVED: a SYN arrived at the listener").And.Contain("SYN-RECEIVED → ESTABLISHED"));
            Assert.That(fromTrace, Does.Contain("len 13"));
            Assert.That(Run("diagram", pcap, "--format", "mermaid"), Does.StartWith("sequenceDiagram\n").And.Contain("L->>R: "));
            var svg = Path.Combine(dir, "echo.svg");
            Run("diagram", pcap, "--format", "svg", "--output", svg);
            Assert.That(System.Xml.Linq.XDocument.Load(svg).Descendants().Count(e => e.Name.LocalName == "line" && ((string?)e.Attribute("class"))?.StartsWith("arrow") == true), Is.GreaterThanOrEqualTo(7));
            foreach (var kind in new[] { "sequence", "cwnd" })
            {
                var png = Path.Combine(dir, $"{kind}.png");
                Run("graph", pcap, "--kind", kind, "--output", png, "--width", "700", "--height", "400");
                using var image = SkiaSharp.SKBitmap.Decode(png);
                Assert.That((image.Width, image.Height), Is.EqualTo((700, 400)));
            }
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("KEEP_PCAP") is null) Directory.Delete(dir, recursive: true);
            else TestContext.Out.WriteLine($"kept {dir}");
        }
    }
}
