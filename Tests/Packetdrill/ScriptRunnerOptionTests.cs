using UserStack.Wire;

namespace UserStack.Tests.Packetdrill;

/// <summary>
/// TCP options in scripts, the way packetdrill writes them (RFC 7323 TS and wscale, RFC 2018
/// sackOK and sack): parsing, how `&lt;` options go on the wire, how `&gt;` options are compared,
/// and how the stack's options are described in failures.
/// </summary>
public class ScriptRunnerOptionTests
{
    private const uint Isn = 1_000_000;

    private static TcpOptionsRepr Parse(string options) =>
        ScriptParser.ParseOptions(options) ?? throw new AssertionException($"'{options}' parsed as 'do not check'");

    private static string Describe(TcpOptionsRepr repr, uint isn = 0)
    {
        var bytes = new byte[repr.Length];
        repr.Write(bytes);
        return ScriptRunner.DescribeOptions(bytes, isn);
    }

    private static SackBlock Block(uint left, uint right) => new(new SeqNumber(left), new SeqNumber(right));

    [Test]
    public void A_syn_line_reads_mss_sackOK_TS_and_wscale()
    {
        var o = Parse("mss 1460,sackOK,TS val 123 ecr 0,nop,wscale 7");
        Assert.That(o.MaximumSegmentSize, Is.EqualTo((ushort)1460));
        Assert.That(o.SackPermitted, Is.True);
        Assert.That(o.Timestamps, Is.EqualTo(((uint)123, (uint)0)));
        Assert.That(o.WindowScale, Is.EqualTo((byte)7));
        Assert.That(o.Sack.Count, Is.Zero);
    }

    [Test]
    public void Sack_blocks_are_read_in_order_as_the_script_wrote_them()
    {
        var o = Parse("nop,nop,TS val 5 ecr 9,nop,nop,sack 1001:2001 3001:4001 5001:6001 7001:8001");
        Assert.That(o.Timestamps, Is.EqualTo(((uint)5, (uint)9)));
        Assert.That(o.Sack.Count, Is.EqualTo(4));
        Assert.That(o.Sack[0], Is.EqualTo(Block(1001, 2001)));
        Assert.That(o.Sack[3], Is.EqualTo(Block(7001, 8001)));
        Assert.That(o.MaximumSegmentSize, Is.Null);
        Assert.That(o.SackPermitted, Is.False);
    }

    [Test]
    public void Nop_and_eol_alone_are_no_options_and_dots_mean_do_not_check()
    {
        Assert.That(Parse("nop,nop,eol"), Is.EqualTo(default(TcpOptionsRepr)));
        Assert.That(ScriptParser.ParseOptions("..."), Is.Null);
    }

    [Test]
    public void A_packet_line_keeps_its_options()
    {
        var events = ScriptParser.Parse("""
            +0 < . 1:1(0) ack 1 win 257 <sack 1461:2921,nop,nop>
            +0 > . 1:1(0) ack 1 <nop,nop,TS val 100 ecr 200>
            +0 > . 1:1(0) ack 1 <...>
            +0 > . 1:1(0) ack 1
            """);
        var packets = events.Cast<PacketEvent>().ToArray();
        Assert.That(packets[0].Options?.Sack[0], Is.EqualTo(Block(1461, 2921)));
        Assert.That(packets[1].Options?.Timestamps, Is.EqualTo(((uint)100, (uint)200)));
        Assert.That(packets[2].Options, Is.Null);
        Assert.That(packets[3].Options, Is.Null);
    }

    [TestCase("mss")]
    [TestCase("mss 70000")]
    [TestCase("wscale 256")]
    [TestCase("wscale -1")]
    [TestCase("sackOK 1")]
    [TestCase("TS val 1")]
    [TestCase("TS 1 2 3 4")]
    [TestCase("sack")]
    [TestCase("sack 1-2")]
    [TestCase("sack 1:2 3:4 5:6 7:8 9:10")]
    [TestCase("md5 abc")]
    public void A_bad_option_names_its_line(string options)
    {
        var e = Assert.Throws<FormatException>(() => ScriptParser.Parse($"+0 < . 1:1(0) ack 1 win 257 <{options}>"));
        Assert.That(e!.Message, Does.StartWith("line 1:"));
    }

    [TestCase("mss 1460,sackOK,TS val 123 ecr 0,nop,wscale 7")]
    [TestCase("nop,nop,TS val 5 ecr 9,nop,nop,sack 1001:2001")]
    [TestCase("mss 536")]
    [TestCase("nop,nop,sackOK")]
    [TestCase("nop,wscale 14")]
    [TestCase("nop,nop,sack 1:2 3:4 5:6 7:8")]
    public void Options_in_linux_order_describe_as_written(string options) =>
        Assert.That(Describe(Parse(options)), Is.EqualTo($"<{options}>"));

    [Test]
    public void Described_sack_edges_are_relative_to_the_remote_isn()
    {
        var repr = new TcpOptionsRepr(Timestamps: (5, 9), Sack: default(SackBlocks).With(Block(Isn + 1001, Isn + 2001)));
        Assert.That(Describe(repr, Isn), Is.EqualTo("<nop,nop,TS val 5 ecr 9,nop,nop,sack 1001:2001>"));
    }

    [Test]
    public void Description_shows_the_bytes_as_sent()
    {
        Assert.That(ScriptRunner.DescribeOptions([2, 4, 0x05, 0xb4, 1, 0, 0, 0], 0), Is.EqualTo("<mss 1460,nop,eol>"));
        Assert.That(ScriptRunner.DescribeOptions([30, 4, 0, 0], 0), Is.EqualTo("<option 30 length 4>"));
        Assert.That(ScriptRunner.DescribeOptions([1, 2, 9, 0], 0), Is.EqualTo("<nop,bad option 2>"));
    }

    [Test]
    public void Matching_options_compare_clean_whatever_the_TS_val()
    {
        var expected = Parse("mss 1460,sackOK,TS val 100 ecr 700,nop,wscale 7");
        var sent = expected with { Timestamps = (123456, 700) };
        Assert.That(ScriptRunner.CompareOptions(expected, sent, Isn), Is.Empty);
    }

    [Test]
    public void Every_difference_is_reported()
    {
        var expected = Parse("mss 1460,sackOK,TS val 100 ecr 700,nop,wscale 7");
        var sent = new TcpOptionsRepr(MaximumSegmentSize: 536, Timestamps: (100, 701));
        Assert.That(ScriptRunner.CompareOptions(expected, sent, Isn), Is.EqualTo(new[]
        {
            "mss 536 instead of mss 1460",
            "no wscale instead of wscale 7",
            "no sackOK instead of sackOK",
            "TS ecr 701 instead of TS ecr 700",
        }));
    }

    [Test]
    public void TS_present_on_one_side_only_is_a_mismatch()
    {
        var withTs = Parse("nop,nop,TS val 1 ecr 0");
        var without = Parse("nop,nop,sackOK");
        Assert.That(ScriptRunner.CompareOptions(withTs, withTs with { Timestamps = null }, Isn), Is.EqualTo(new[] { "no TS instead of TS ecr 0" }));
        Assert.That(ScriptRunner.CompareOptions(without, without with { Timestamps = (1, 0) }, Isn), Is.EqualTo(new[] { "TS ecr 0 instead of no TS" }));
    }

    [Test]
    public void Sack_blocks_are_compared_relative_to_the_remote_isn_when_the_script_lists_them()
    {
        var expected = Parse("nop,nop,sack 1001:2001");
        var right = new TcpOptionsRepr(Sack: default(SackBlocks).With(Block(Isn + 1001, Isn + 2001)));
        var wrong = new TcpOptionsRepr(Sack: default(SackBlocks).With(Block(Isn + 1001, Isn + 3001)));
        Assert.That(ScriptRunner.CompareOptions(expected, right, Isn), Is.Empty);
        Assert.That(ScriptRunner.CompareOptions(expected, wrong, Isn), Is.EqualTo(new[] { "sack 1001:3001 instead of sack 1001:2001" }));
        Assert.That(ScriptRunner.CompareOptions(expected, default, Isn), Is.EqualTo(new[] { "no sack instead of sack 1001:2001" }));
        Assert.That(ScriptRunner.CompareOptions(Parse("nop"), right, Isn), Is.Empty, "a line without sack blocks does not check them");
    }

    [Test]
    public void Inbound_sack_edges_are_relative_to_the_local_isn()
    {
        var wire = ScriptRunner.ToWire(Parse("sack 1461:2921 4381:5841"), 77, new Dictionary<uint, uint>());
        Assert.That(wire.Sack.Count, Is.EqualTo(2));
        Assert.That(wire.Sack[0], Is.EqualTo(Block(77 + 1461, 77 + 2921)));
        Assert.That(wire.Sack[1], Is.EqualTo(Block(77 + 4381, 77 + 5841)));
    }

    [Test]
    public void Inbound_TS_ecr_echoes_what_the_stack_sent_for_the_script_val()
    {
        var sent = new Dictionary<uint, uint> { [100] = 987654, [0] = 5 };
        Assert.That(ScriptRunner.ToWire(Parse("TS val 200 ecr 100"), 0, sent).Timestamps, Is.EqualTo(((uint)200, (uint)987654)));
        Assert.That(ScriptRunner.ToWire(Parse("TS val 200 ecr 300"), 0, sent).Timestamps, Is.EqualTo(((uint)200, (uint)300)), "never seen: literal");
        Assert.That(ScriptRunner.ToWire(Parse("TS val 200 ecr 0"), 0, sent).Timestamps, Is.EqualTo(((uint)200, (uint)0)), "0 stays 0");
    }

    [Test]
    public void A_runner_reports_options_the_stack_did_not_send()
    {
        // The peer offers only an MSS, so the SYN-ACK carries no sackOK and no TS (RFC 2018 2, RFC 7323 3.2).
        var runner = new ScriptRunner();
        var failure = Assert.Throws<ScriptFailure>(() => runner.Run("""
            0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0    bind(3, ..., ...) = 0
            +0    listen(3, 1) = 0
            +0    < S 0:0(0) win 32792 <mss 1000>
            +0    > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 1 ecr 0>
            """));
        Assert.That(failure!.Message, Does.Contain("line 5"));
        Assert.That(failure.Message, Does.Contain("no sackOK instead of sackOK; no TS instead of TS ecr 0"));
        Assert.That(failure.Message, Does.Contain("> S. 0:0(0) ack 1 win 65535 <mss 1460>"));
    }
}
