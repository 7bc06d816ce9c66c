using System.Globalization;
using System.Text.RegularExpressions;
using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>
/// Seeds from the packetdrill-language scripts: their inbound segments, socket calls and the
/// time between them become actions (outbound lines only move the clock). Sequence numbers stay
/// relative to each side's ISN, as the scripts write them; the peer side plays conversation 0.
/// </summary>
public static partial class ScriptSeeds
{
    public static IEnumerable<(string Name, byte[] Input)> FromDirectory(string directory) =>
        Directory.EnumerateFiles(directory, "*.pkt").Order().Select(f => (Path.GetFileNameWithoutExtension(f), Translate(File.ReadAllText(f))));

    public static byte[] Translate(string script)
    {
        var actions = new List<FuzzAction>();
        var sockets = new List<int>(); // the harness's socket list, as descriptors
        var pendingSocket = new Stack<int>();
        double time = 0, lastActionTime = 0;
        uint lastAck = 1;
        foreach (var raw in Regex.Replace(script, @"/\*.*?\*/", "", RegexOptions.Singleline).Split('\n'))
        {
            var line = raw.Split("//")[0].Trim();
            var m = Line().Match(line);
            if (!m.Success) continue;
            var t = m.Groups["time"].Value;
            if (t != "*") time = t.StartsWith('+') ? time + Number(t[1..]) : Number(t);
            var body = m.Groups["body"].Value;
            if (body.StartsWith('>')) continue;
            var action = body.StartsWith('<') ? (FuzzAction?)Segment(body, ref lastAck) : Call(body, sockets, pendingSocket);
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

    private static SegmentAction? Segment(string body, ref uint lastAck)
    {
        var m = Packet().Match(body);
        if (!m.Success) return null; // ICMP lines are not translated
        var flags = TcpFlags.None;
        foreach (var c in m.Groups["flags"].Value)
            flags |= c switch { 'S' => TcpFlags.Syn, 'F' => TcpFlags.Fin, 'R' => TcpFlags.Rst, 'P' => TcpFlags.Psh, '.' => TcpFlags.Ack, 'U' => TcpFlags.Urg, 'E' => TcpFlags.Ece, 'W' => TcpFlags.Cwr, _ => TcpFlags.None };
        uint start = uint.Parse(m.Groups["start"].Value), length = uint.Parse(m.Groups["len"].Value);
        uint ack = m.Groups["ack"].Success ? uint.Parse(m.Groups["ack"].Value) : 0;
        if (m.Groups["ack"].Success) { flags |= TcpFlags.Ack; lastAck = ack; }
        ushort window = m.Groups["win"].Success ? ushort.Parse(m.Groups["win"].Value) : (ushort)65535;
        byte mask = 0, wscale = 0, sackCount = 0;
        ushort mss = 0, sackLeft = 0, sackLength = 0;
        uint tsDelta = 0;
        foreach (var option in m.Groups["opts"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var w = option.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            switch (w[0])
            {
                case "mss": mask |= 1; mss = ushort.Parse(w[1]); break;
                case "wscale": mask |= 2; wscale = byte.Parse(w[1]); break;
                case "sackOK": mask |= 4; break;
                case "TS": mask |= 8; tsDelta = unchecked(uint.Parse(w[2]) - 1000); break;
                case "sack":
                    mask |= 16;
                    sackCount = (byte)(w.Length - 2);
                    var edges = w[1].Split(':');
                    sackLeft = (ushort)(uint.Parse(edges[0]) - lastAck);
                    sackLength = (ushort)(uint.Parse(edges[1]) - uint.Parse(edges[0]));
                    break;
            }
        }
        // Conversation 0 (a new one to port 80 while there is none); seq from the peer's ISN, ack from the stack's.
        return new SegmentAction(0, flags, 3, start, 3, ack, window, mask, mss, wscale, tsDelta, sackCount, sackLeft, sackLength, (ushort)length, 0);
    }

    private static CallAction? Call(string body, List<int> sockets, Stack<int> pending)
    {
        var m = CallLine().Match(body);
        if (!m.Success) return null;
        var args = m.Groups["args"].Value.Split(',', StringSplitOptions.TrimEntries);
        int.TryParse(args[0], out int fd);
        long.TryParse(m.Groups["result"].Value, out long result);
        byte Index(int descriptor) => (byte)Math.Max(0, sockets.IndexOf(descriptor));
        switch (m.Groups["name"].Value)
        {
            case "socket": pending.Push((int)result); return null;
            case "listen":
                if (!sockets.Contains(fd)) sockets.Add(fd);
                return new CallAction(SocketCall.Listen, 0, (uint)Math.Min(int.Parse(args[1]), 8) << 8);
            case "connect":
                if (!sockets.Contains(fd)) sockets.Add(fd);
                return new CallAction(SocketCall.Connect, 0, 0);
            case "accept":
                if (result >= 0) sockets.Add((int)result);
                return new CallAction(SocketCall.Accept, Index(fd), 0);
            case "write" or "send": return new CallAction(SocketCall.Send, Index(fd), SizeValue(args));
            case "read" or "recv": return new CallAction(SocketCall.Receive, Index(fd), SizeValue(args));
            case "shutdown": return new CallAction(args[1].Contains("RD") && !args[1].Contains("RDWR") ? SocketCall.ShutdownRead : SocketCall.ShutdownWrite, Index(fd), 0);
            case "close":
                var index = Index(fd);
                sockets.Remove(fd);
                return new CallAction(SocketCall.Close, index, 0);
            case "setsockopt":
                uint v = uint.TryParse(args[3].Trim('[', ']'), out var n) ? n : 0;
                return args[2] switch
                {
                    "TCP_NODELAY" => new CallAction(SocketCall.NoDelay, Index(fd), v),
                    "SO_KEEPALIVE" => new CallAction(SocketCall.KeepAlive, Index(fd), v),
                    "TCP_KEEPIDLE" => new CallAction(SocketCall.KeepAliveIdle, Index(fd), v << 2 | 2),
                    "TCP_KEEPINTVL" => new CallAction(SocketCall.KeepAliveInterval, Index(fd), v << 2 | 2),
                    "TCP_KEEPCNT" => new CallAction(SocketCall.KeepAliveCount, Index(fd), v << 2 | 2),
                    "TCP_CONGESTION" => new CallAction(SocketCall.Congestion, Index(fd), args[3].Contains("newreno") ? 1u : 0u),
                    _ => null,
                };
            default: return null;
        }
    }

    /// <summary>A send/receive size in the form <see cref="Harness"/> decodes (kind in the top two bits).</summary>
    private static uint SizeValue(string[] args)
    {
        uint n = args.Length > 2 && uint.TryParse(args[2], out var v) ? v : 0;
        return n < 2000 ? n : n < 70_000 ? 1u << 30 | n : 2u << 30 | n;
    }

    private static double Number(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<time>\*|\+?[\d.]+)\s+(?<body>.+)$")]
    private static partial Regex Line();

    [GeneratedRegex(@"^<\s+(?<flags>[SFRP.EWU]+)\s+(?<start>\d+):(?<end>\d+)\((?<len>\d+)\)(?:\s+ack\s+(?<ack>\d+))?(?:\s+win\s+(?<win>\d+))?(?:\s+<(?<opts>[^>]*)>)?")]
    private static partial Regex Packet();

    [GeneratedRegex(@"^(?<name>\w+)\((?<args>.*)\)\s*=\s*(?<result>-?\d+)")]
    private static partial Regex CallLine();
}
