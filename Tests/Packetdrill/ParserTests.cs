using UserStack.Drill.Language;

namespace UserStack.Tests.Packetdrill;

/// <summary>packetdrill's grammar as the drill parser reads it, and the syntax errors it reports with their line.</summary>
public class ParserTests
{
    private static ScriptEvent Event(string line) => Parser.Parse(line).Events.Single();

    private static SyscallEvent Call(string line) => (SyscallEvent)Event(line);

    private static TcpPacketEvent Tcp(string line) => (TcpPacketEvent)Event(line);

    [Test]
    public void Times()
    {
        Assert.That(Event("+.1 close(3) = 0").Time, Is.EqualTo(new EventTime(TimeKind.Relative, 100_000, 0, null)));
        Assert.That(Event("1.5 close(3) = 0").Time, Is.EqualTo(new EventTime(TimeKind.Absolute, 1_500_000, 0, null)));
        Assert.That(Event("* > S 0:0(0) win 100").Time.Kind, Is.EqualTo(TimeKind.Any));
        Assert.That(Event("+.3~+.303 > . 1:1(0) ack 1").Time, Is.EqualTo(new EventTime(TimeKind.RelativeRange, 300_000, 303_000, null)));
        var blocking = Call("0...0.1 accept(3, ..., ...) = 4");
        Assert.That(blocking.Time, Is.EqualTo(new EventTime(TimeKind.Absolute, 0, 0, 100_000)));
        Assert.That(blocking.IsBlocking);
    }

    [Test]
    public void A_system_call_may_span_lines()
    {
        var script = Parser.Parse("""
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0 setsockopt(3,
                          SOL_SOCKET, SO_LINGER,
                          {onoff=1, linger=0}, 8) = 0
            +0 close(3) = 0
            """);
        Assert.That(script.Events.Select(e => e.Line), Is.EqualTo(new[] { 1, 2, 5 }));
        var setsockopt = (SyscallEvent)script.Events[1];
        Assert.That(setsockopt.Arguments, Has.Count.EqualTo(5));
        Assert.That(((StructExpression)setsockopt.Arguments[3]).Field("linger"), Is.EqualTo(new IntegerExpression(4, 0, false)));
    }

    [Test]
    public void Option_lines_and_init_and_cleanup_commands()
    {
        var script = Parser.Parse("""
            --tolerance_usecs=10000
            --ip_version=ipv4
            `sysctl -q net.ipv4.tcp_sack=1`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0 `echo done`
            `echo cleanup`
            """);
        Assert.That(script.Options.Select(o => (o.Name, o.Value)), Is.EqualTo(new[] { ("tolerance_usecs", "10000"), ("ip_version", "ipv4") }));
        Assert.That(script.InitCommand?.Command, Is.EqualTo("sysctl -q net.ipv4.tcp_sack=1"));
        Assert.That(script.Events.OfType<CommandEvent>().Single().Command, Is.EqualTo("echo done"));
        Assert.That(script.CleanupCommand?.Command, Is.EqualTo("echo cleanup"));
    }

    [Test]
    public void A_tcp_line_and_its_options()
    {
        var syn = Tcp("0 < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>");
        Assert.That((syn.Direction, syn.Flags, syn.Start, syn.End, syn.Length, syn.Ack, syn.Window), Is.EqualTo((Direction.Inbound, "S", 0u, 0u, 0u, (uint?)null, (uint?)32792)));
        Assert.That(syn.Options!.Select(o => o.Kind), Is.EqualTo(new[] { "mss", "sackOK", "TS", "nop", "wscale" }));
        Assert.That(syn.Options![2].Values, Is.EqualTo(new long[] { 100, 0 }));

        var data = Tcp("+0 > P. 1:1001(1000) ack 1 <nop,nop,sack 2001:3001 4001:5001>");
        Assert.That((data.Direction, data.Flags, data.Start, data.End, data.Length, data.Ack, data.Window), Is.EqualTo((Direction.Outbound, "P.", 1u, 1001u, 1000u, (uint?)1, (uint?)null)));
        Assert.That(data.Options![2], Is.EqualTo(data.Options![2] with { Kind = "sack" }));
        Assert.That(data.Options![2].Values, Is.EqualTo(new long[] { 2001, 3001, 4001, 5001 }));

        Assert.That(Tcp("+0 > S. 0:0(0) ack 1 <...>").Options, Is.Null, "<...> is not checked");
        Assert.That(Tcp("+0 > . 1:1(0) ack 1").Options, Is.Empty, "no options written: the segment has none");
        Assert.That(Tcp("+0 > - 1:1(0) win 0").Flags, Is.Empty);
    }

    [Test]
    public void Fast_open_and_md5_options()
    {
        var fo = Tcp("0 < S 0:10(10) win 32792 <mss 1460,nop,nop,sackOK,nop,nop,FO abcd1234,nop,nop>");
        Assert.That(fo.Options!.Single(o => o.Kind == "FO").Blob, Is.EqualTo("abcd1234"));
        var empty = Tcp("0 < S 0:0(0) win 32792 <mss 1460,FO,nop,nop>");
        Assert.That(empty.Options!.Single(o => o.Kind == "FO").Blob, Is.Null);
        var md5 = Tcp("0 < S 0:0(0) win 32792 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>");
        Assert.That(md5.Options![0].Kind, Is.EqualTo("md5"));
        Assert.That(md5.Options![0].Blob, Is.Not.Null.And.Not.Empty);
    }

    [Test]
    public void Icmp_lines()
    {
        var unreachable = (IcmpPacketEvent)Event("+0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]");
        Assert.That((unreachable.Type, unreachable.Code, unreachable.Mtu), Is.EqualTo(("unreachable", "frag_needed", (int?)1200)));
        Assert.That(unreachable.Quote, Is.EqualTo(new IcmpQuote("tcp", 1, 1461, 1460)));
        var ttl = (IcmpPacketEvent)Event("+0 < icmp time_exceeded ttl_exceeded");
        Assert.That((ttl.Type, ttl.Code, ttl.Quote), Is.EqualTo(("time_exceeded", "ttl_exceeded", (IcmpQuote?)null)));
    }

    [Test]
    public void Expressions()
    {
        var poll = Call("+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1");
        var entry = (StructExpression)((ArrayExpression)poll.Arguments[0]).Items.Single();
        Assert.That(entry.Field("fd"), Is.EqualTo(new IntegerExpression(1, 4, false)));
        Assert.That(entry.Field("events"), Is.EqualTo(new OrExpression(1, new WordExpression(1, "POLLIN"), new WordExpression(1, "POLLOUT"))));

        var getsockopt = Call("+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0");
        Assert.That(getsockopt.Arguments[3], Is.EqualTo(new ArrayExpression(1, [new WordExpression(1, "ECONNREFUSED")])).Using<Expression>(Same));
        Assert.That(getsockopt.Arguments[4], Is.EqualTo(new ArrayExpression(1, [new IntegerExpression(1, 4, false)])).Using<Expression>(Same));

        var ioctl = Call("+0 ioctl(4, 0x541B, [100]) = 0");
        Assert.That(ioctl.Arguments[1], Is.EqualTo(new IntegerExpression(1, 0x541B, true)));

        var write = Call("+0 write(4, \"a\\tb\\n\\\"q\\\"\", 7) = 7");
        Assert.That(((StringExpression)write.Arguments[1]).Value, Is.EqualTo("a\tb\n\"q\""));
    }

    private static bool Same(Expression a, Expression b) => Describe(a) == Describe(b);

    private static string Describe(Expression e) => e switch
    {
        ArrayExpression a => $"[{string.Join(",", a.Items.Select(Describe))}]",
        StructExpression s => $"{{{string.Join(",", s.Fields.Select(Describe))}}}",
        _ => e.ToString(),
    };

    [Test]
    public void A_msghdr()
    {
        var sendmsg = Call("+0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 100}], msg_flags=0}, 0) = 100");
        var msg = (StructExpression)sendmsg.Arguments[1];
        var iov = (ArrayExpression)msg.Field("msg_iov")!;
        Assert.That(((StructExpression)iov.Items.Single()).Fields[1], Is.EqualTo(new IntegerExpression(1, 100, false)));
        Assert.That(msg.Field("msg_flags"), Is.EqualTo(new IntegerExpression(1, 0, false)));
    }

    [Test]
    public void Errno_with_a_note()
    {
        var connect = Call("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
        Assert.That(connect.Result, Is.EqualTo(new IntegerExpression(1, -1, false)));
        Assert.That((connect.Errno, connect.Note), Is.EqualTo(("EINPROGRESS", "Operation now in progress")));
        Assert.That(Call("+0 close(3) = 0").Errno, Is.Null);
    }

    [TestCase("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 poll([{fd=3, events=POLLIN}, 1, 0) = 0\n", 2, TestName = "Unbalanced brackets name the line")]
    [TestCase("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < SX 0:0(0) win 100\n", 2, TestName = "A bad flag names the line")]
    [TestCase("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\n+0 < . 4:1(2) ack 1 win 100\n", 3, TestName = "An inconsistent range names the line")]
    [TestCase("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n* close(3) = 0\n", 2, TestName = "A star time on a call names the line")]
    [TestCase("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n* < S 0:0(0) win 100\n", 2, TestName = "A star time on an inbound packet names the line")]
    public void Syntax_errors_name_their_line(string script, int line)
    {
        var e = Assert.Throws<ScriptSyntaxException>(() => Parser.Parse(script))!;
        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Line, Is.EqualTo(line));
    }

    [Test]
    public void Syntax_error_messages_say_what_is_wrong()
    {
        Assert.That(Assert.Throws<ScriptSyntaxException>(() => Parser.Parse("0 < . 4:1(2) ack 1 win 100"))!.Reason, Does.Contain("inconsistent TCP sequence numbers: 4:1 is not 2 bytes"));
        Assert.That(Assert.Throws<ScriptSyntaxException>(() => Parser.Parse("0 < SX 0:0(0) win 100"))!.Reason, Does.Contain("unknown TCP flag 'X'"));
        Assert.That(Assert.Throws<ScriptSyntaxException>(() => Parser.Parse("* close(3) = 0"))!.Reason, Does.Contain("can only be used with outbound packets"));
    }
}
