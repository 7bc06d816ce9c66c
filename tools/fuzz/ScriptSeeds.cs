using UserStack.Drill;
using UserStack.Drill.Language;
using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>
/// Seeds from the packetdrill-language scripts, read with UserStack.Drill's parser: their inbound
/// segments, socket calls and the time between them become actions (outbound lines only move the
/// clock). Sequence numbers stay relative to each side's ISN, as the scripts write them; the peer
/// side plays conversation 0. ACK is set only by `.`, as packetdrill reads a line.
/// </summary>
public static class ScriptSeeds
{
    public static IEnumerable<(string Name, byte[] Input)> FromDirectory(string directory) =>
        Directory.EnumerateFiles(directory, "*.pkt").Order().Select(f => (Path.GetFileNameWithoutExtension(f), Translate(File.ReadAllText(f))));

    public static byte[] Translate(string script)
    {
        var actions = new List<FuzzAction>();
        var sockets = new List<int>(); // the harness's socket list, as descriptors
        double time = 0, lastActionTime = 0;
        uint lastAck = 1;
        foreach (var e in Parser.Parse(script).Events)
        {
            // Script time as written (relative lines add up); the harness's clock has no "when it really happened".
            if (e.Time.Kind != TimeKind.Any) time = (e.Time.IsRelative ? time : 0) + e.Time.Start / 1e6;
            FuzzAction? action = e switch
            {
                TcpPacketEvent { Direction: Direction.Inbound } segment => Segment(segment, ref lastAck),
                SyscallEvent call => Call(call, sockets),
                _ => null, // outbound lines, ICMP, UDP, commands
            };
            if (action is null) continue;
            AddWait(actions, time - lastActionTime);
            lastActionTime = time;
            actions.Add(action);
        }
        return ActionCodec.Write(new FuzzConfig(0, 0, 0, 0), actions);
    }

    private static void AddWait(List<FuzzAction> actions, double seconds)
    {
        long ms = (long)Math.Round(seconds * 1000);
        for (; ms >= 1000; ms -= Math.Min(ms / 1000, 600) * 1000)
            actions.Add(new TimeAction(TimeStepKind.Seconds, (uint)Math.Min(ms / 1000, 600) - 1));
        if (ms > 0) actions.Add(new TimeAction(TimeStepKind.Milliseconds, (uint)ms - 1));
    }

    private static SegmentAction? Segment(TcpPacketEvent e, ref uint lastAck)
    {
        TcpFlags flags;
        try { flags = TcpNumbering.FlagsOf(e); }
        catch (DrillUnsupported) { return null; } // AccECN: no equal in the harness
        uint ack = e.Ack ?? 0;
        if ((flags & TcpFlags.Ack) != 0) lastAck = ack;
        ushort window = (ushort)Math.Min(e.Window ?? 65535, ushort.MaxValue);
        byte mask = 0, wscale = 0, sackCount = 0;
        ushort mss = 0, sackLeft = 0, sackLength = 0;
        uint tsDelta = 0;
        foreach (var option in e.Options ?? [])
        {
            switch (option.Kind)
            {
                case "mss": mask |= 1; mss = (ushort)option.Values[0]; break;
                case "wscale": mask |= 2; wscale = (byte)option.Values[0]; break;
                case "sackOK": mask |= 4; break;
                case "TS": mask |= 8; tsDelta = unchecked((uint)option.Values[0] - 1000); break;
                case "sack" when option.Values.Count >= 2:
                    mask |= 16;
                    sackCount = (byte)(option.Values.Count / 2);
                    sackLeft = (ushort)((uint)option.Values[0] - lastAck);
                    sackLength = (ushort)(option.Values[1] - option.Values[0]);
                    break;
            }
        }
        // Conversation 0 (a new one to port 80 while there is none); seq from the peer's ISN, ack from the stack's.
        return new SegmentAction(0, flags, 3, e.Start, 3, ack, window, mask, mss, wscale, tsDelta, sackCount, sackLeft, sackLength, (ushort)e.Length, 0);
    }

    private static CallAction? Call(SyscallEvent c, List<int> sockets)
    {
        var args = c.Arguments;
        int fd = args.Count > 0 && args[0] is IntegerExpression f ? (int)f.Value : 0;
        long result = c.Result is IntegerExpression r ? r.Value : 0;
        byte Index(int descriptor) => (byte)Math.Max(0, sockets.IndexOf(descriptor));
        string Word(int i) => i < args.Count ? args[i] switch { WordExpression w => w.Word, StringExpression s => s.Value, _ => "" } : "";
        switch (c.Name)
        {
            case "listen":
                if (!sockets.Contains(fd)) sockets.Add(fd);
                return new CallAction(SocketCall.Listen, 0, (uint)Math.Min(Int(args, 1), 8) << 8);
            case "connect":
                if (!sockets.Contains(fd)) sockets.Add(fd);
                return new CallAction(SocketCall.Connect, 0, 0);
            case "accept" or "accept4":
                if (result >= 0) sockets.Add((int)result);
                return new CallAction(SocketCall.Accept, Index(fd), 0);
            case "write" or "send": return new CallAction(SocketCall.Send, Index(fd), SizeValue(Int(args, 2)));
            case "read" or "recv": return new CallAction(SocketCall.Receive, Index(fd), SizeValue(Int(args, 2)));
            case "shutdown": return new CallAction(Word(1) == "SHUT_RD" ? SocketCall.ShutdownRead : SocketCall.ShutdownWrite, Index(fd), 0);
            case "close":
                var index = Index(fd);
                sockets.Remove(fd);
                return new CallAction(SocketCall.Close, index, 0);
            case "setsockopt":
                uint v = (uint)Math.Max(0, Int(args, 3));
                return Word(2) switch
                {
                    "TCP_NODELAY" => new CallAction(SocketCall.NoDelay, Index(fd), v),
                    "SO_KEEPALIVE" => new CallAction(SocketCall.KeepAlive, Index(fd), v),
                    "TCP_KEEPIDLE" => new CallAction(SocketCall.KeepAliveIdle, Index(fd), v << 2 | 2),
                    "TCP_KEEPINTVL" => new CallAction(SocketCall.KeepAliveInterval, Index(fd), v << 2 | 2),
                    "TCP_KEEPCNT" => new CallAction(SocketCall.KeepAliveCount, Index(fd), v << 2 | 2),
                    "TCP_CONGESTION" => new CallAction(SocketCall.Congestion, Index(fd), Word(3) == "newreno" ? 1u : 0u),
                    _ => null,
                };
            default: return null; // socket, bind, fcntl, getsockopt...: the harness opens and binds on its own
        }
    }

    /// <summary>An integer argument: `N` or `[N]`; anything else is 0.</summary>
    private static long Int(IReadOnlyList<Expression> args, int i) => i < args.Count ? args[i] switch
    {
        IntegerExpression n => n.Value,
        ArrayExpression { Items: [IntegerExpression n] } => n.Value,
        _ => 0,
    } : 0;

    /// <summary>A send/receive size in the form <see cref="Harness"/> decodes (kind in the top two bits).</summary>
    private static uint SizeValue(long length)
    {
        uint n = (uint)Math.Max(0, length);
        return n < 2000 ? n : n < 70_000 ? 1u << 30 | n : 2u << 30 | n;
    }
}
