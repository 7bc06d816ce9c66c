using System.Buffers.Binary;
using System.Text;
using UserStack.Drill.Language;
using UserStack.Sockets.Api;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Drill;

/// <summary>What a system call returned, and what differed in the values it handed back (getsockopt, poll, ioctl, recvmsg's msg_flags).</summary>
public readonly record struct CallResult(long Value, Errno Errno, string? Mismatch = null);

/// <summary>
/// A script's system call lines as calls on an <see cref="ISocketCalls"/>, with packetdrill's
/// value formats (run_system_call.c): `...` for a buffer or address the runner supplies, `[N]`
/// for a pointer to an int (given to setsockopt, expected back from getsockopt and ioctl),
/// `{...}` structs, names of Linux constants OR-ed with `|`. <see cref="Prepare"/> makes the call
/// (a closure, so DrillRunner can run it on a thread of its own) and compares the values it hands
/// back; <see cref="Check"/> compares the result and errno with `= RESULT ERRNO`. DrillRunner uses
/// it on UserStack, the differential tool on kernel sockets: both sides are judged by this code.
/// </summary>
public sealed partial class ScriptCalls(ISocketCalls api, DrillConfig config, IReadOnlySet<string> relax)
{
    private readonly Dictionary<long, int> liveDescriptors = new(); // the script's fd -> the live one

    /// <summary>bind() and connect() tell the runner the ports the conversation uses.</summary>
    public Action<ushort>? LocalPortChanged { get; init; }
    public Action<ushort>? RemotePortChanged { get; init; }
    /// <summary>The live number for a descriptor the script never opened (EBADF tests): as written by default.</summary>
    public Func<long, int> Unmapped { get; init; } = n => (int)n;

    /// <summary>The live descriptors the script opened and has not closed.</summary>
    public IReadOnlyCollection<int> Open { get { lock (liveDescriptors) return liveDescriptors.Values.Distinct().ToList(); } }

    /// <summary>
    /// The returned value and errno against `= RESULT [ERRNO]`, and the values the call handed
    /// back: null when they agree, else what differs. A descriptor returned by socket() or
    /// accept() is taken under the number the script expects.
    /// </summary>
    public string? Check(SyscallEvent call, CallResult r)
    {
        if (call.Result is not EllipsisExpression)
        {
            long expected = Number(call.Result);
            bool fdResult = call.Name is "socket" or "accept" or "accept4" && expected >= 0;
            if (fdResult)
            {
                if (r.Value < 0) return $"{call.Name}() returned -1 {r.Errno}, expected {expected}";
                lock (liveDescriptors) liveDescriptors[expected] = (int)r.Value;
            }
            else if (r.Value != expected)
                return $"{call.Name}() returned {r.Value}{(r.Value < 0 ? " " + r.Errno : "")}, expected {expected}{(call.Errno is null ? "" : " " + call.Errno)}";
            if (expected < 0 && call.Errno is { } name && !ErrnoMatches(r.Errno, name))
                return $"{call.Name}() failed with {r.Errno}, expected {name}";
        }
        return r.Mismatch is { } m ? $"{call.Name}(): {m}" : null;
    }

    /// <summary>EWOULDBLOCK is EAGAIN on Linux; ENOTSUP is EOPNOTSUPP.</summary>
    private static bool ErrnoMatches(Errno actual, string expected) =>
        actual.ToString() == expected || (expected, actual) is ("EWOULDBLOCK", Errno.EAGAIN) or ("ENOTSUP", Errno.EOPNOTSUPP);

    /// <summary>Turns the call's arguments into a closure run on a worker thread (so that blocking is seen, not suffered).</summary>
    public Func<CallResult> Prepare(SyscallEvent c)
    {
        var a = c.Arguments;
        Expression Arg(int i) => i < a.Count ? a[i] : throw new DrillFailure($"{c.Name}() needs at least {i + 1} arguments");
        switch (c.Name)
        {
            case "socket":
            {
                long domain = Arg(0) is EllipsisExpression ? Linux.AF_INET : Number(Arg(0));
                if (domain != Linux.AF_INET) throw new DrillUnsupported($"socket domain {Describe(Arg(0))} (UserStack speaks IPv4 only)");
                int type = (int)Number(Arg(1)), protocol = (int)Number(Arg(2));
                return () => Call(api.Socket((int)domain, type, protocol));
            }
            case "bind":
            {
                int fd = Fd(Arg(0));
                var local = Arg(1) is EllipsisExpression ? new Endpoint(config.LocalIp, config.BindPort) : SockAddr(Arg(1));
                LocalPortChanged?.Invoke(local.Port);
                return () => Call(api.Bind(fd, local));
            }
            case "listen":
            {
                int fd = Fd(Arg(0)), backlog = (int)Number(Arg(1));
                return () => Call(api.Listen(fd, backlog));
            }
            case "accept" or "accept4":
            {
                int fd = Fd(Arg(0));
                int flags = c.Name == "accept4" && a.Count > 3 ? (int)Number(a[3]) : 0;
                return () => Call(api.Accept4(fd, flags));
            }
            case "connect":
            {
                int fd = Fd(Arg(0));
                var remote = Arg(1) is EllipsisExpression ? new Endpoint(config.RemoteIp, config.ConnectPort) : SockAddr(Arg(1));
                RemotePortChanged?.Invoke(remote.Port);
                return () => Call(api.Connect(fd, remote));
            }
            case "write" or "send" or "sendto":
            {
                int fd = Fd(Arg(0));
                if (IsNullBuffer(Arg(1), Arg(2))) return () => new CallResult(-1, Errno.EFAULT);
                var data = Payload(Arg(1), (int)Number(Arg(2)));
                int flags = c.Name == "write" ? 0 : (int)Number(Arg(3));
                Endpoint? to = c.Name == "sendto" && a.Count > 4 && a[4] is not EllipsisExpression ? SockAddr(a[4]) : null;
                return () => Call(api.SendTo(fd, data, flags, to));
            }
            case "read" or "recv" or "recvfrom":
            {
                int fd = Fd(Arg(0));
                if (IsNullBuffer(Arg(1), Arg(2))) return () => new CallResult(-1, Errno.EFAULT);
                int length = (int)Number(Arg(2));
                int flags = c.Name == "read" ? 0 : (int)Number(Arg(3));
                return () =>
                {
                    var buffer = new byte[length];
                    return Call(api.RecvFrom(fd, buffer, flags));
                };
            }
            case "writev":
            {
                int fd = Fd(Arg(0));
                var iov = IoVectors(Arg(1));
                return () => Call(api.Writev(fd, iov));
            }
            case "readv":
            {
                int fd = Fd(Arg(0));
                var iov = IoVectors(Arg(1));
                return () => Call(api.Readv(fd, iov));
            }
            case "sendmsg" or "recvmsg":
            {
                int fd = Fd(Arg(0));
                var msg = Arg(1) as StructExpression ?? throw new DrillFailure($"{c.Name}() expects a msghdr {{...}}");
                if (msg.Field("msg_control") is ArrayExpression { Items.Count: > 0 }) throw new DrillUnsupported("msg_control (ancillary data)");
                var header = new MessageHeader { Buffers = IoVectors(msg.Field("msg_iov") ?? new ArrayExpression(c.Line, [])).ToList() };
                int flags = (int)Number(Arg(2));
                var expectedFlags = msg.Field("msg_flags");
                if (c.Name == "sendmsg") return () => Call(api.SendMsg(fd, header, flags));
                return () =>
                {
                    int n = api.RecvMsg(fd, header, flags);
                    var r = Call(n);
                    if (n >= 0 && expectedFlags is not (null or EllipsisExpression) && header.MessageFlags != Number(expectedFlags))
                        return r with { Mismatch = $"msg_flags 0x{header.MessageFlags:x} instead of 0x{Number(expectedFlags):x}" };
                    return r;
                };
            }
            case "close":
            {
                var script = Number(Arg(0));
                int fd = Fd(Arg(0));
                return () =>
                {
                    var r = Call(api.Close(fd));
                    if (r.Value == 0) lock (liveDescriptors) liveDescriptors.Remove(script);
                    return r;
                };
            }
            case "shutdown":
            {
                int fd = Fd(Arg(0)), how = (int)Number(Arg(1));
                return () => Call(api.Shutdown(fd, how));
            }
            case "fcntl":
            {
                int fd = Fd(Arg(0)), cmd = (int)Number(Arg(1));
                long arg = a.Count > 2 ? Number(a[2]) : 0;
                return () => Call(api.Fcntl(fd, cmd, arg));
            }
            case "ioctl":
            {
                int fd = Fd(Arg(0));
                ulong request = (ulong)Number(Arg(1));
                var expected = a.Count > 2 ? a[2] : null;
                int input = expected is ArrayExpression { Items: [var v] } && v is not EllipsisExpression ? (int)Number(v) : 0;
                bool output = request is Linux.FIONREAD or Linux.SIOCOUTQ or Linux.SIOCATMARK;
                return () =>
                {
                    int value = input;
                    var r = Call(api.Ioctl(fd, request, ref value));
                    if (r.Value == 0 && output && expected is ArrayExpression { Items: [var e] } && e is not EllipsisExpression && value != Number(e))
                        return r with { Mismatch = $"{Describe(Arg(1))} gave [{value}], expected [{Number(e)}]" };
                    return r;
                };
            }
            case "setsockopt":
            {
                int fd = Fd(Arg(0)), level = (int)Number(Arg(1)), name = (int)Number(Arg(2));
                var value = OptionValue(Arg(3));
                if (a.Count > 4 && a[4] is not EllipsisExpression) value = value.AsSpan(0, Math.Min(value.Length, (int)Number(a[4]))).ToArray();
                return () => Call(api.SetSockOpt(fd, level, name, value));
            }
            case "getsockopt":
                return GetSockOpt(c);
            case "poll":
                return Poll(c);
            case "select":
                return Select(c);
            default:
                throw new DrillUnsupported($"system call {c.Name}() (UserStack's socket API has no equal)");
        }
    }

    /// <summary>A NULL buffer with a length: the kernel's copy to or from user memory fails with EFAULT; a managed API has no such pointer, so the runner answers for it.</summary>
    private bool IsNullBuffer(Expression buffer, Expression length) => buffer is WordExpression { Word: "NULL" } && Number(length) > 0;

    private CallResult Call(int result) => new(result, result < 0 ? api.Errno : Errno.Ok);

    private Func<CallResult> GetSockOpt(SyscallEvent c)
    {
        var a = c.Arguments;
        if (a.Count < 5) throw new DrillFailure("getsockopt() takes 5 arguments");
        int fd = Fd(a[0]), level = (int)Number(a[1]), name = (int)Number(a[2]);
        var expectedValue = a[3];
        if (relax.Contains("bufsize") && level == Linux.SOL_SOCKET && name is Linux.SO_RCVBUF or Linux.SO_SNDBUF) expectedValue = new EllipsisExpression(c.Line);
        int? expectedLength = a[4] is ArrayExpression { Items: [var l] } && l is not EllipsisExpression ? (int)Number(l) : null;
        int capacity = expectedLength ?? 256;
        return () =>
        {
            var buffer = new byte[Math.Max(capacity, 256)];
            int length = capacity;
            var r = Call(api.GetSockOpt(fd, level, name, buffer, ref length));
            if (r.Value != 0) return r;
            if (expectedLength is { } want && length != want) return r with { Mismatch = $"optlen {length} instead of {want}" };
            string? mismatch = CompareValue(expectedValue, buffer.AsSpan(0, length));
            return mismatch is null ? r : r with { Mismatch = mismatch };
        };
    }

    /// <summary>An option value as getsockopt returned it against the script's: `[N]`, a string, a struct of named fields (linger, tcp_info).</summary>
    private string? CompareValue(Expression expected, ReadOnlySpan<byte> actual)
    {
        switch (expected)
        {
            case EllipsisExpression: return null;
            case ArrayExpression { Items: [EllipsisExpression] }: return null;
            case ArrayExpression { Items: [var item] }:
                long want = Number(item);
                long got = actual.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(actual) : actual.Length == 1 ? actual[0] : 0;
                return got == want ? null : $"value [{Symbolic(item, got)}] instead of [{Describe(item)}]";
            case StringExpression s:
                var text = Encoding.ASCII.GetString(actual).TrimEnd('\0');
                return (s.Ellipsis ? text.StartsWith(s.Value, StringComparison.Ordinal) : text == s.Value) ? null : $"value \"{text}\" instead of \"{s.Value}\"";
            case StructExpression { Fields: var fields } when fields.All(f => f is FieldExpression):
                var layout = StructLayout(fields.Cast<FieldExpression>().Select(f => f.Name));
                foreach (FieldExpression f in fields)
                {
                    if (f.Value is EllipsisExpression) continue;
                    if (!layout.TryGetValue(f.Name, out var at)) throw new DrillUnsupported($"struct field {f.Name}");
                    long value = at.Size == 1 ? actual[at.Offset] : at.Size == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(actual[at.Offset..]) : BinaryPrimitives.ReadInt64LittleEndian(actual[at.Offset..]);
                    if (f.Value is CallExpression { Name: "between", Arguments: [var low, var high] })
                    {
                        if (value < Number(low) || value > Number(high)) return $"{f.Name}={value} not in {Describe(f.Value)}";
                    }
                    else if (value != Number(f.Value)) return $"{f.Name}={value} instead of {Describe(f.Value)}";
                }
                return null;
            default: throw new DrillUnsupported($"getsockopt value {Describe(expected)}");
        }
    }

    /// <summary>
    /// Field offsets of the structs scripts spell out: linger (onoff, linger), timeval (tv_sec,
    /// tv_usec) and Linux's struct tcp_info. A field may be `between(LOW, HIGH)` (inclusive) where
    /// the kernel's value depends on real time (tcp_info's rtt, rttvar, rto).
    /// </summary>
    private static Dictionary<string, (int Offset, int Size)> StructLayout(IEnumerable<string> names)
    {
        var layout = new Dictionary<string, (int, int)> { ["onoff"] = (0, 4), ["l_onoff"] = (0, 4), ["linger"] = (4, 4), ["l_linger"] = (4, 4), ["tv_sec"] = (0, 8), ["tv_usec"] = (8, 8) };
        string[] bytes = ["tcpi_state", "tcpi_ca_state", "tcpi_retransmits", "tcpi_probes", "tcpi_backoff", "tcpi_options", "tcpi_wscale", "tcpi_delivery_rate_app_limited"];
        for (int i = 0; i < bytes.Length; i++) layout[bytes[i]] = (i, 1);
        string[] words = ["tcpi_rto", "tcpi_ato", "tcpi_snd_mss", "tcpi_rcv_mss", "tcpi_unacked", "tcpi_sacked", "tcpi_lost", "tcpi_retrans", "tcpi_fackets",
            "tcpi_last_data_sent", "tcpi_last_ack_sent", "tcpi_last_data_recv", "tcpi_last_ack_recv", "tcpi_pmtu", "tcpi_rcv_ssthresh", "tcpi_rtt", "tcpi_rttvar",
            "tcpi_snd_ssthresh", "tcpi_snd_cwnd", "tcpi_advmss", "tcpi_reordering", "tcpi_rcv_rtt", "tcpi_rcv_space", "tcpi_total_retrans"];
        for (int i = 0; i < words.Length; i++) layout[words[i]] = (8 + 4 * i, 4);
        return layout;
    }

    // ---- values ----------------------------------------------------------------------------------

    /// <summary>A script's descriptor as UserStack's; one the script never opened goes as written (EBADF tests).</summary>
    public int Fd(Expression e)
    {
        long n = Number(e);
        lock (liveDescriptors) return liveDescriptors.TryGetValue(n, out var fd) ? fd : Unmapped(n);
    }

    /// <summary>An integer expression: numbers, Linux constant names, `a|b`, `[N]`, htons(N), inet_addr("a.b.c.d").</summary>
    public long Number(Expression e) => e switch
    {
        IntegerExpression i => i.Value,
        WordExpression { Word: "NULL" } => 0,
        WordExpression w => Linux.TryGetConstant(w.Word, out var v) ? v : throw new DrillUnsupported($"symbol {w.Word}"),
        OrExpression o => Number(o.Left) | Number(o.Right),
        ArrayExpression { Items: [var only] } => Number(only),
        CallExpression { Name: "htons", Arguments: [var port] } => Number(port),
        CallExpression { Name: "inet_addr", Arguments: [StringExpression s] } => Ipv4Address.Parse(s.Value).Value,
        EllipsisExpression => 0,
        _ => throw new DrillUnsupported($"value {Describe(e)}"),
    };

    private Endpoint SockAddr(Expression e)
    {
        if (e is not StructExpression s) throw new DrillUnsupported($"address {Describe(e)}");
        if (s.Field("sa_family") is WordExpression { Word: not "AF_INET" } family) throw new DrillUnsupported($"address family {family.Word}");
        var port = s.Field("sin_port") is { } p ? (ushort)Number(p) : (ushort)0;
        var address = s.Field("sin_addr") is CallExpression { Name: "inet_addr", Arguments: [StringExpression text] } ? Ipv4Address.Parse(text.Value) : Ipv4Address.Any;
        return new Endpoint(address, port);
    }

    /// <summary>What a write sends: zeros (packetdrill's buffers), or the bytes of a string literal.</summary>
    private static byte[] Payload(Expression buffer, int length)
    {
        var data = new byte[Math.Max(length, 0)];
        if (buffer is StringExpression s) Encoding.Latin1.GetBytes(s.Value.AsSpan(0, Math.Min(s.Value.Length, data.Length)), data);
        return data;
    }

    /// <summary>`[{..., 100}, {..., 200}]`: buffers of those lengths.</summary>
    private List<ArraySegment<byte>> IoVectors(Expression e)
    {
        if (e is EllipsisExpression or WordExpression { Word: "NULL" }) return [];
        if (e is not ArrayExpression list) throw new DrillUnsupported($"iovec {Describe(e)}");
        return list.Items.Select(i => i is StructExpression { Fields: [_, var length] } ? new ArraySegment<byte>(new byte[Number(length)]) : throw new DrillUnsupported($"iovec {Describe(i)}")).ToList();
    }

    /// <summary>setsockopt's value: `[N]` an int, `{onoff=1, linger=0}` a struct linger, a string (TCP_CONGESTION).</summary>
    private byte[] OptionValue(Expression e)
    {
        switch (e)
        {
            case StringExpression s: return Encoding.ASCII.GetBytes(s.Value);
            case StructExpression st when (st.Field("onoff") ?? st.Field("l_onoff")) is { } onoff:
                var linger = new byte[8];
                BinaryPrimitives.WriteInt32LittleEndian(linger, (int)Number(onoff));
                BinaryPrimitives.WriteInt32LittleEndian(linger.AsSpan(4), (int)Number(st.Field("linger") ?? st.Field("l_linger") ?? new IntegerExpression(e.Line, 0, false)));
                return linger;
            case StructExpression st when st.Field("tv_sec") is { } sec:
                var timeval = new byte[16];
                BinaryPrimitives.WriteInt64LittleEndian(timeval, Number(sec));
                BinaryPrimitives.WriteInt64LittleEndian(timeval.AsSpan(8), Number(st.Field("tv_usec") ?? new IntegerExpression(e.Line, 0, false)));
                return timeval;
            default:
                var value = new byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(value, (int)Number(e));
                return value;
        }
    }

    /// <summary>A number as the script would write it: the errno name where the script used one.</summary>
    private static string Symbolic(Expression like, long value) =>
        like is WordExpression && Enum.IsDefined(typeof(Errno), (int)value) ? ((Errno)value).ToString() : value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(Expression e) => e switch
    {
        IntegerExpression { Hex: true } i => $"0x{i.Value:x}",
        IntegerExpression i => i.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        WordExpression w => w.Word,
        EllipsisExpression => "...",
        StringExpression s => $"\"{s.Value}\"",
        OrExpression o => $"{Describe(o.Left)}|{Describe(o.Right)}",
        ArrayExpression a => $"[{string.Join(", ", a.Items.Select(Describe))}]",
        StructExpression s => $"{{{string.Join(", ", s.Fields.Select(Describe))}}}",
        FieldExpression f => $"{f.Name}={Describe(f.Value)}",
        CallExpression c => $"{c.Name}({string.Join(", ", c.Arguments.Select(Describe))})",
        RawExpression r => r.Text,
        _ => e.ToString(),
    };
}
