using UserStack.Drill;

namespace UserStack.Tests.Packetdrill;

/// <summary>
/// The drill runner's semantics, each shown by a small inline script played with
/// <see cref="DrillRun.Run"/>: what passes, and what fails with which message.
/// </summary>
public class DrillRunnerTests
{
    private const string Listen = """
        0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0    bind(3, ..., ...) = 0
        +0    listen(3, 1) = 0

        """;

    /// <summary>A passive open with only MSS on the peer's SYN: accept() gives 4.</summary>
    private const string Accepted = Listen + """
        +0    < S 0:0(0) win 32792 <mss 1000>
        +0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
        +.1   < . 1:1(0) ack 1 win 32792
        +0    accept(3, ..., ...) = 4

        """;

    private static Outcome Run(string script, DrillSettings? settings = null)
    {
        var outcome = DrillRun.Run(script, settings);
        TestContext.Out.WriteLine($"{outcome.Verdict}: {outcome.Message}\n{outcome.Log}");
        return outcome;
    }

    private static void Passes(string script, DrillSettings? settings = null)
    {
        var outcome = Run(script, settings);
        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Pass), outcome.Message);
    }

    private static string Fails(string script, DrillSettings? settings = null)
    {
        var outcome = Run(script, settings);
        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Fail), "the script should fail");
        return outcome.Message!;
    }

    private const string FullSyn = "+0    < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>\n";

    [Test]
    public void Options_are_compared_in_wire_order()
    {
        Passes(Listen + FullSyn + "+0    > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 500 ecr 100,nop,wscale 3>\n");
        var message = Fails(Listen + FullSyn + "+0    > S. 0:0(0) ack 1 win 65535 <sackOK,mss 1460,TS val 500 ecr 100,nop,wscale 3>\n");
        Assert.That(message, Does.Contain("bad outbound TCP options: <mss 1460,sackOK,TS val"));
        Assert.That(message, Does.Contain("instead of <sackOK,mss 1460,TS val 500 ecr 100,nop,wscale 3>"));
        Assert.That(message, Does.StartWith("line 5:"));
    }

    [Test]
    public void Relaxing_options_looks_past_their_order() =>
        Passes(Listen + FullSyn + "+0    > S. 0:0(0) ack 1 win 65535 <sackOK,mss 1460,TS val 500 ecr 100,nop,wscale 3>\n",
            new DrillSettings { Relax = new HashSet<string> { "options" } });

    [Test]
    public void Inbound_sack_edges_are_relative_to_the_stacks_isn()
    {
        // Three segments' worth SACKed above the first: RFC 6675 retransmits it at once. Absolute
        // edges (1001 on the wire) would be outside anything sent and be ignored.
        Passes(Listen + """
            +0    < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
            +0    > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK>
            +.1   < . 1:1(0) ack 1 win 32792
            +0    accept(3, ..., ...) = 4
            +0    write(4, ..., 5000) = 5000
            +0    > . 1:1001(1000) ack 1
            +0    > . 1001:2001(1000) ack 1
            +0    > . 2001:3001(1000) ack 1
            +0    > . 3001:4001(1000) ack 1
            +0    > P. 4001:5001(1000) ack 1
            +.1   < . 1:1(0) ack 1 win 32792 <nop,nop,sack 1001:3001>
            +0    < . 1:1(0) ack 1 win 32792 <nop,nop,sack 1001:3001 4001:5001>
            +0    > . 1:1001(1000) ack 1
            +0    > . 3001:4001(1000) ack 1
            """);
    }

    private const string TimestampOpen = Listen + """
        +0    < S 0:0(0) win 32792 <mss 1000,TS val 100 ecr 0,nop,nop>
        +0    > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 500 ecr 100>

        """;

    [Test]
    public void Inbound_TS_ecr_is_the_TS_val_the_stack_really_sent()
    {
        // "500" names the SYN-ACK's TS val, whatever the stack's clock said there.
        Passes(TimestampOpen + """
            +.1   < . 1:1(0) ack 1 win 32792 <nop,nop,TS val 110 ecr 500>
            +0    accept(3, ..., ...) = 4
            +0    < P. 1:101(100) ack 1 win 32792 <nop,nop,TS val 120 ecr 500>
            +0    > . 1:1(0) ack 101 <nop,nop,TS val 600 ecr 120>
            """);
    }

    [Test]
    public void An_unknown_TS_ecr_fails_as_packetdrill_does()
    {
        var message = Fails(TimestampOpen + "+.1   < . 1:1(0) ack 1 win 32792 <nop,nop,TS val 110 ecr 999>\n");
        Assert.That(message, Does.Contain("unable to infer live TS ecr for script TS ecr 999; no matching or preceding outbound TS val"));
        Assert.That(message, Does.StartWith("line 6:"));
    }

    [Test]
    public void An_inbound_packet_needs_a_window() =>
        Assert.That(Fails(Listen + "+0    < S 0:0(0) <mss 1000>\n"), Does.Contain("window must be specified for inbound packets"));

    [Test]
    public void A_call_without_dots_that_blocks_fails() =>
        Assert.That(Fails(Listen + "+0    accept(3, ..., ...) = 4\n"), Does.Contain("accept() blocked; packetdrill expects a call without `...` to return at once"));

    private const string BlockingAccept = """
        0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0    bind(3, ..., ...) = 0
        +0    listen(3, 1) = 0
        {0}   accept(3, ..., ...) = 4
        +0    < S 0:0(0) win 32792 <mss 1000>
        +0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
        +.1   < . 1:1(0) ack 1 win 32792
        +0    write(4, ..., 10) = 10
        +0    > P. 1:11(10) ack 1
        """;

    [Test]
    public void A_blocking_accept_returns_when_the_handshake_completes() =>
        Passes(BlockingAccept.Replace("{0}", "0...0.1"));

    [Test]
    public void A_blocking_call_that_returns_at_another_time_is_a_timing_error() =>
        Assert.That(Fails(BlockingAccept.Replace("{0}", "0...0.3")),
            Does.Contain("timing error: expected system call return at 0.300000 sec but happened at 0.100000 sec"));

    private const string ActiveOpen = """
        0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
        +0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
        +0    > S 0:0(0) win 65535 <...>

        """;

    [Test]
    public void Relative_time_after_an_outbound_packet_counts_from_when_it_was_sent()
    {
        // The first retransmission is taken whenever it comes (1 s); the second is 2 s after it (3 s), not 2 s after line 4.
        Passes(ActiveOpen + """
            *     > S 0:0(0) win 65535 <...>
            +2    > S 0:0(0) win 65535 <...>
            """);
        Assert.That(Fails(ActiveOpen + """
            *     > S 0:0(0) win 65535 <...>
            +1    > S 0:0(0) win 65535 <...>
            """), Does.Contain("expected an outbound packet at 2.000000 sec; none was sent by 2.250000 sec"));
    }

    private const string WriteHundred = Accepted + """
        +0    write(4, ..., 100) = 100
        +0    > {0} 1:101(100) ack 1

        """;

    [Test]
    public void Relaxing_psh_looks_past_psh_only()
    {
        Passes(WriteHundred.Replace("{0}", "P."));
        Assert.That(Fails(WriteHundred.Replace("{0}", ".")), Does.Contain("flags P. instead of ."));
        var relaxed = new DrillSettings { Relax = new HashSet<string> { "psh" } };
        Passes(WriteHundred.Replace("{0}", "."), relaxed);
        Assert.That(Fails(WriteHundred.Replace("{0}", "F."), relaxed), Does.Contain("flags P. instead of F."));
    }

    [Test]
    public void An_ipv6_option_line_is_unsupported()
    {
        var outcome = Run("--ip_version=ipv6\n" + Listen);
        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Unsupported));
        Assert.That(outcome.Message, Does.Contain("line 1: --ip_version=ipv6"));
    }

    [Test]
    public void A_python_block_passes_with_a_warning()
    {
        var outcome = Run(Accepted + "+0    %{ assert tcpi_rto == 1000000 }%\n");
        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Pass), outcome.Message);
        Assert.That(outcome.Warnings, Has.Some.Contains("%{ }% code is Python"));
    }

    private const string WithBacklog = """
        0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0    bind(3, ..., ...) = 0
        +0    listen(3, BACKLOG) = 0
        """;

    [Test]
    public void A_define_replaces_words()
    {
        Passes(WithBacklog, new DrillSettings { Defines = new Dictionary<string, string> { ["BACKLOG"] = "1" } });
        Assert.That(Run(WithBacklog).Verdict, Is.Not.EqualTo(Verdict.Pass), "without -D, BACKLOG is no number");
    }

    private const string Conditional = """
        0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        #ifdef LINUX
        +0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
        #else
        +0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = -1 EBADF
        #endif
        """;

    [Test]
    public void Ifdef_chooses_lines()
    {
        Passes(Conditional, new DrillSettings { Defines = new Dictionary<string, string> { ["LINUX"] = "" } });
        Assert.That(Fails(Conditional), Does.StartWith("line 5:"));
    }
}
