using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;
using UserStack.Diagnostics;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>The Linux kernel as the peer, over a real TAP moved into a private namespace.</summary>
[Category("Interop")]
[NonParallelizable]
public class PingInteropTests
{
    private static string Target => TapFixture.StackAddress.Address.ToString();

    [SetUp]
    public void RequireRoot() => Root.Require("ping");

    [Test]
    public void The_kernel_resolves_our_mac_by_arp()
    {
        using var scene = TapFixture.Start();
        var ping = PingResult.Parse(scene.HostExec(TimeSpan.FromSeconds(10), "ping", "-c", "1", "-W", "2", Target).Output);
        Assert.That(ping.AllAnswered, Is.True, ping.Output);
        var neigh = scene.HostExec(TimeSpan.FromSeconds(5), "ip", "neigh", "show", Target).Output;
        Assert.That(neigh, Does.Contain(scene.Stack.Options.HardwareAddress.ToString()));
        Assert.That(scene.Stack.Counters[Counter.ArpRepliesSent], Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public void A_hundred_pings_of_sizes_from_0_to_1472_all_come_back_intact()
    {
        using var scene = TapFixture.Start();
        var sizes = Enumerable.Range(0, 100).Select(i => i * 1472 / 99).ToArray();
        Assert.That(sizes[0], Is.Zero);
        Assert.That(sizes[^1], Is.EqualTo(1472));
        var failures = new List<string>();
        foreach (var size in sizes)
        {
            // -p fills the data with a pattern; ping itself reports "wrong data byte" on any difference.
            var pattern = $"{size % 256:x2}5a";
            var r = PingResult.Parse(scene.HostExec(TimeSpan.FromSeconds(10), "ping", "-c", "1", "-W", "2", "-s", size.ToString(), "-p", pattern, Target).Output);
            if (!r.AllAnswered) failures.Add($"size {size}: {r.Received}/{r.Transmitted}{(r.WrongData ? " wrong data" : "")}");
        }
        Assert.That(failures, Is.Empty);
        Assert.That(scene.Stack.Counters[Counter.IcmpEchoRepliesSent], Is.EqualTo(100));
    }

    [Test]
    public void A_two_second_flood_ping_loses_nothing()
    {
        using var scene = TapFixture.Start();
        // Warm up ARP first so that the flood measures echo, not resolution.
        scene.HostExec(TimeSpan.FromSeconds(5), "ping", "-c", "1", "-W", "2", Target);
        // About two seconds of flood at the ~40-50k/s seen here. A count, not "-w 2": with a bare
        // deadline ping counts the request still in flight at the deadline as lost.
        var r = PingResult.Parse(scene.HostExec(TimeSpan.FromSeconds(40), "ping", "-f", "-c", "80000", "-w", "30", "-W", "1", Target).Output);
        TestContext.Out.WriteLine(r.Output);
        Assert.That(r.Transmitted, Is.EqualTo(80000), "the whole flood went out within the 30 s bound");
        Assert.That(r.Lost, Is.LessThanOrEqualTo(0), $"lost {r.Lost} of {r.Transmitted}");
        Assert.That(r.WrongData, Is.False);
    }

    [Test]
    public void Frames_can_be_captured_to_a_pcap_file_that_libpcap_reads_back()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ustack-test-{Environment.ProcessId}.pcap");
        try
        {
            using (var scene = TapFixture.Start(pcap: path))
            {
                var r = PingResult.Parse(scene.HostExec(TimeSpan.FromSeconds(10), "ping", "-c", "3", "-i", "0.1", "-W", "2", Target).Output);
                Assert.That(r.AllAnswered, Is.True, r.Output);
            }
            using var reader = new CaptureFileReaderDevice(path);
            reader.Open();
            int echoReplies = 0, arp = 0;
            while (reader.GetNextPacket(out var capture) == GetPacketStatus.PacketRead)
            {
                var packet = Packet.ParsePacket(LinkLayers.Ethernet, capture.GetPacket().Data);
                if (packet.Extract<IcmpV4Packet>() is { TypeCode: IcmpV4TypeCode.EchoReply } icmp && icmp.ValidIcmpChecksum) echoReplies++;
                if (packet.Extract<PacketDotNet.ArpPacket>() is not null) arp++;
            }
            Assert.That(echoReplies, Is.EqualTo(3));
            Assert.That(arp, Is.GreaterThanOrEqualTo(2), "the gratuitous ARP and the exchange with the kernel");
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void The_demo_passes()
    {
        var output = new StringWriter();
        int exit = Tools.Commands.DemoCommand.Run(output);
        TestContext.Out.WriteLine(output);
        Assert.That(exit, Is.Zero, output.ToString());
    }
}
