namespace UserStack.Drill.Language;

/// <summary>A parsed script: option lines, the optional init and cleanup commands, and the events in order.</summary>
public sealed record Script(IReadOnlyList<ScriptOption> Options, CommandEvent? InitCommand, IReadOnlyList<ScriptEvent> Events, CommandEvent? CleanupCommand);

/// <summary>`--name=value` at the top of a script: a packetdrill command-line option.</summary>
public sealed record ScriptOption(int Line, string Name, string? Value);

public enum TimeKind { Absolute, Relative, Any, AbsoluteRange, RelativeRange }

/// <summary>
/// When an event happens, in microseconds as written: `1.5`, `+.1`, `*`, `1~2`, `+1~+2`.
/// <see cref="End"/> is the range's end; <see cref="BlockingEnd"/> is `...T` before a system call.
/// </summary>
public sealed record EventTime(TimeKind Kind, long Start, long End, long? BlockingEnd)
{
    public bool IsRelative => Kind is TimeKind.Relative or TimeKind.RelativeRange;
}

public abstract record ScriptEvent(int Line, EventTime Time)
{
    /// <summary>The script's text of the event (for messages), filled by the parser.</summary>
    public string Text { get; init; } = "";
}

/// <summary>A backquoted shell command (`\`sysctl ...\``), run by packetdrill with /bin/sh.</summary>
public sealed record CommandEvent(int Line, EventTime Time, string Command) : ScriptEvent(Line, Time);

/// <summary>`%{ python }%`: code packetdrill hands to Python after the run.</summary>
public sealed record CodeEvent(int Line, EventTime Time, string Code) : ScriptEvent(Line, Time);

/// <summary>A system call with its arguments, expected result, errno and note.</summary>
public sealed record SyscallEvent(int Line, EventTime Time, string Name, IReadOnlyList<Expression> Arguments, Expression Result, string? Errno, string? Note)
    : ScriptEvent(Line, Time)
{
    public bool IsBlocking => Time.BlockingEnd is not null;
}

public enum Direction { Inbound, Outbound }

/// <summary>What comes between the direction and the protocol: outer headers packetdrill can wrap a packet in.</summary>
public sealed record Encapsulation(string Kind, string Text);

/// <summary>`[ect0]`, `(tos 0x10)`, `[ttl 64]`, `[flowlabel 0x1]`: the IP fields a packet line sets or checks.</summary>
public sealed record IpInfo(string? Ecn, int? Tos, int? Ttl, int? FlowLabel);

public abstract record PacketEvent(int Line, EventTime Time, Direction Direction, IReadOnlyList<Encapsulation> Outer, IpInfo? Ip)
    : ScriptEvent(Line, Time);

/// <summary>One TCP option as written: its keyword and values (e.g. `mss 1460`, `sack 1:2 3:4`, `TS val 1 ecr 0`).</summary>
public sealed record TcpOptionSpec(string Kind, IReadOnlyList<long> Values, string? Blob = null);

/// <summary>
/// A TCP packet line. <see cref="Flags"/> holds packetdrill's letters (`S`, `P`, `F`, `R`, `U`,
/// `E`, `W` and `.` for ACK); `-` is written as no letters. <see cref="Options"/> null is
/// `&lt;...&gt;` (not checked); an empty list means the segment has no options.
/// </summary>
public sealed record TcpPacketEvent(int Line, EventTime Time, Direction Direction, IReadOnlyList<Encapsulation> Outer, IpInfo? Ip,
    (int Source, int Destination)? Ports, string Flags, string? Ace, uint Start, uint End, uint Length, uint? Ack, uint? Window, uint? Urgent,
    IReadOnlyList<TcpOptionSpec>? Options)
    : PacketEvent(Line, Time, Direction, Outer, Ip)
{
    /// <summary>`...(LEN)` instead of `START:END(LEN)`: the sequence number is not checked (FreeBSD's packetdrill fork).</summary>
    public bool AnySequence { get; init; }
}

/// <summary>`udp (N)`: a UDP datagram of N payload bytes.</summary>
public sealed record UdpPacketEvent(int Line, EventTime Time, Direction Direction, IReadOnlyList<Encapsulation> Outer, IpInfo? Ip,
    (int Source, int Destination)? Ports, int Length)
    : PacketEvent(Line, Time, Direction, Outer, Ip);

/// <summary>What an ICMP error quotes: a TCP range `[s:e(l)]`, `[udp (N)]` or `[raw (N)]`.</summary>
public sealed record IcmpQuote(string Protocol, uint Start, uint End, uint Length);

/// <summary>`icmp TYPE [CODE] [mtu N] [id N] [quote]`.</summary>
public sealed record IcmpPacketEvent(int Line, EventTime Time, Direction Direction, IReadOnlyList<Encapsulation> Outer, IpInfo? Ip,
    string Type, string? Code, int? Mtu, int? Id, IcmpQuote? Quote)
    : PacketEvent(Line, Time, Direction, Outer, Ip);

// ---- expressions: the arguments and results of system calls ------------------------------

public abstract record Expression(int Line);

/// <summary>`...`: any value (an argument the runner fills in, or a result not checked).</summary>
public sealed record EllipsisExpression(int Line) : Expression(Line);

/// <summary>A decimal or hex integer; <see cref="Hex"/> keeps how it was written.</summary>
public sealed record IntegerExpression(int Line, long Value, bool Hex) : Expression(Line);

/// <summary>A symbol: a constant name (`SOL_SOCKET`, `O_NONBLOCK`), a type name, or any word.</summary>
public sealed record WordExpression(int Line, string Word) : Expression(Line);

/// <summary>A string literal (adjacent literals are joined); <see cref="Ellipsis"/> is `"abc"...` (a prefix).</summary>
public sealed record StringExpression(int Line, string Value, bool Ellipsis) : Expression(Line);

/// <summary>`a | b`: bitwise OR of flags.</summary>
public sealed record OrExpression(int Line, Expression Left, Expression Right) : Expression(Line);

/// <summary>`name = value` inside a struct or list (e.g. `fd=4`, `tcpi_state=TCP_ESTABLISHED`).</summary>
public sealed record FieldExpression(int Line, string Name, Expression Value) : Expression(Line);

/// <summary>`[a, b]`: a pointer to a value (`[1]`) or an array (`[{fd=4, events=POLLIN}]`).</summary>
public sealed record ArrayExpression(int Line, IReadOnlyList<Expression> Items) : Expression(Line);

/// <summary>`{a, b}`: a struct: sockaddr, iovec `{..., 100}`, pollfd, linger, msghdr, tcp_info, cmsg...</summary>
public sealed record StructExpression(int Line, IReadOnlyList<Expression> Fields) : Expression(Line)
{
    public Expression? Field(string name) => Fields.OfType<FieldExpression>().FirstOrDefault(f => f.Name == name)?.Value;
}

/// <summary>`name(args)` inside an expression: `htons(8080)`, `inet_addr("192.0.2.1")`, `msg_iov(1)=[...]`'s left side.</summary>
public sealed record CallExpression(int Line, string Name, IReadOnlyList<Expression> Arguments) : Expression(Line);

/// <summary>Tokens kept as written where the language allows a form the runner never evaluates (MPLS stacks, GRE headers).</summary>
public sealed record RawExpression(int Line, string Text) : Expression(Line);
