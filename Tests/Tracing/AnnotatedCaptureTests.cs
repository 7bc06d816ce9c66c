using System.Buffers.Binary;
using System.Text;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;
using UserStack.Drivers.Capture;
using UserStack.Drivers.Memory;
using UserStack.Sockets.Host;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tracing;

/// <summary>
/// `--pcap` writes pcapng whose every frame carries a comment (opt_comment of its Enhanced Packet
/// Block) with the stack's reason: why it was sent, or what became of it when received. Checked with
/// a small block reader here, with SharpPcap/PacketDotNet (libpcap reads pcapng), and with tshark.
/// </summary>
[NonParallelizable]
public class AnnotatedCaptureTests
{
    private string path = "";

    [SetUp]
    public void Capture()
    {
        path = Path.Combine(Path.GetTempPath(), $"ustack-annotated-{Environment.ProcessId}-{Guid.NewGuid():N}.pcapng");
        RecordEchoWithADrop(path);
    }

    [TearDown]
    public void Remove() { if (Environment.GetEnvironmentVariable("KEEP_PCAP") is null) File.Delete(path); }

    /// <summary>B (capturing) serves port 7 to A over an in-memory link: handshake, "hello" echoed, then a corrupted segment injected into B.</summary>
    private static void RecordEchoWithADrop(string file)
    {
        var (da, db) = MemoryLink.Create("cap");
        using var capture = new PcapCapture(file);
        using var a = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:07:01"), Address = new Ipv4Cidr(Ipv4Address.Parse("10.7.0.1"), 24), Secret = [1] }, da);
        using var b = new StackHost(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:07:02"), Address = new Ipv4Cidr(Ipv4Address.Parse("10.7.0.2"), 24), Secret = [2] }, db, capture);
        a.Start();
        b.Start();
        TcpConnection listener, client;
        lock (b.Gate) { listener = b.Stack.Tcp.Open(); b.Stack.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 7)); b.Stack.Tcp.Listen(listener, 4, b.Now); b.Reschedule(); }
        lock (a.Gate) { client = a.Stack.Tcp.Open(); a.Stack.Tcp.Connect(client, new Endpoint(Ipv4Address.Parse("10.7.0.2"), 7), a.Now); a.Reschedule(); }
        TcpConnection? server = null;
        Until(() => { lock (b.Gate) return (server ??= listener.TakeAccepted()) is not null; });
        lock (a.Gate) { client.Send("hello"u8, a.Now, out _); a.Reschedule(); }
        Until(() => { lock (b.Gate) return server!.Available == 5; });
        lock (b.Gate) { var buffer = new byte[5]; server!.Receive(buffer, false, b.Now, out _); server.Send(buffer, b.Now, out _); b.Reschedule(); }
        Until(() => { lock (a.Gate) return client.Available == 5; });

        // A segment whose checksum does not hold: B drops it, and the capture says why.
        var bad = new TcpRepr(40000, 7, new SeqNumber(1), default, TcpFlags.Ack, 1000);
        var segment = new byte[bad.Length];
        bad.Write(segment, Ipv4Address.Parse("10.7.0.1"), Ipv4Address.Parse("10.7.0.2"));
        segment[16] ^= 0xFF;
        b.Inject(Frames.Ipv4(IpProtocol.Tcp, segment, Ipv4Address.Parse("10.7.0.1"), Ipv4Address.Parse("10.7.0.2"), MacAddress.Parse("02:00:00:00:07:02")));
    }

    private static void Until(Func<bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!done()) { Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the exchange did not finish"); Thread.Sleep(2); }
    }

    /// <summary>The comment of every Enhanced Packet Block, in file order (null where none).</summary>
    private static List<string?> Comments(string file)
    {
        var bytes = File.ReadAllBytes(file);
        var comments = new List<string?>();
        for (int at = 0; at < bytes.Length;)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 4));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + length - 4)), Is.EqualTo((uint)length), "a block ends with its length");
            if (type == 6)
            {
                int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 20));
                string? comment = null;
                for (int o = at + 28 + (captured + 3) / 4 * 4; o < at + length - 4;)
                {
                    ushort code = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(o)), len = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(o + 2));
                    if (code == 0) break;
                    if (code == 1) comment = Encoding.UTF8.GetString(bytes, o + 4, len);
                    o += 4 + (len + 3) / 4 * 4;
                }
                comments.Add(comment);
            }
            at += length;
        }
        return comments;
    }

    [Test]
    public void Every_frame_in_the_capture_carries_the_stacks_reason_as_a_pcapng_comment()
    {
        var comments = Comments(path);
        Assert.That(comments, Has.Count.GreaterThanOrEqualTo(8));
        Assert.That(comments.Where(c => c is null || !(c.StartsWith("sent: ") || c.StartsWith("received: "))), Is.Empty, "every frame has a comment");
        Assert.That(comments, Has.Some.StartsWith("sent: SYN-ACK: answering a SYN, RFC 9293 §3.10.7.2; to 10.7.0.1:"));
        Assert.That(comments, Has.Some.EqualTo("received: delivered to TCP 10.7.0.2:7"));
        Assert.That(comments, Has.Some.EqualTo("received: dropped TcpBadChecksum (Tcp)"));
        Assert.That(comments, Has.Some.StartWith("sent: ARP, Reply 10.7.0.2 is-at 02:00:00:00:07:02"));
    }

    [Test]
    public void A_received_frame_comes_before_the_answer_it_caused()
    {
        var comments = Comments(path);
        int syn = comments.FindIndex(c => c == "received: delivered to TCP 10.7.0.2:7");
        int synAck = comments.FindIndex(c => c!.StartsWith("sent: SYN-ACK"));
        Assert.That(syn, Is.GreaterThanOrEqualTo(0).And.LessThan(synAck));
    }

    [Test]
    public void The_pcapng_capture_reads_back_in_sharppcap_and_packetdotnet_with_valid_checksums()
    {
        using var reader = new CaptureFileReaderDevice(path);
        reader.Open();
        int frames = 0, tcp = 0, validTcp = 0;
        while (reader.GetNextPacket(out var capture) == GetPacketStatus.PacketRead)
        {
            frames++;
            var packet = Packet.ParsePacket(LinkLayers.Ethernet, capture.GetPacket().Data);
            if (packet.Extract<TcpPacket>() is { } t) { tcp++; if (t.ValidTcpChecksum) validTcp++; }
        }
        Assert.That(frames, Is.EqualTo(Comments(path).Count));
        Assert.That(tcp - validTcp, Is.EqualTo(1), "only the corrupted segment fails its checksum");
    }

    [Test]
    public void Tshark_reads_the_capture_without_errors_and_shows_the_comments()
    {
        if (!Shell.Exists("tshark"))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail("CI must run this test: tshark is not installed (tools/test.sh installs it)");
            Assert.Ignore("tshark is not installed (tools/test.sh installs it)");
        }
        var r = Shell.Run("tshark", ["-r", path, "-n", "-T", "fields", "-e", "frame.comment"], TimeSpan.FromMinutes(1));
        Assert.That(r.ExitCode, Is.Zero, r.Error);
        Assert.That(r.Error.Split('\n').Where(l => l.Length > 0 && !l.Contains("Running as user")), Is.Empty, "tshark complained");
        var shown = r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(shown, Is.EqualTo(Comments(path)));
    }
}
