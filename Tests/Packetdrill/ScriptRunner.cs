using System.Text;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Packetdrill;

/// <summary>
/// Runs a packetdrill script against one UserStack core on the virtual clock, the way
/// packetdrill runs against a kernel: the script plays the remote host, injects `&lt;` segments,
/// expects `&gt;` segments at their times (within a tolerance), and makes socket calls on the
/// local stack. Sequence numbers in the script are relative to each side's ISN. Addresses follow
/// packetdrill's defaults: local 192.168.0.1, remote 192.0.2.1 behind gateway 192.168.0.2,
/// listening port 8080.
/// </summary>
public sealed class ScriptRunner : IFrameSink
{
    public static readonly Ipv4Address LocalAddress = Ipv4Address.Parse("192.168.0.1");
    public static readonly Ipv4Address RemoteAddress = Ipv4Address.Parse("192.0.2.1");
    public static readonly Ipv4Address Gateway = Ipv4Address.Parse("192.168.0.2");
    private static readonly MacAddress LocalMac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:00:02");
    private const ushort ServerPort = 8080;
    private const ushort RemoteEphemeralPort = 51000;
    private const uint RemoteIsn = 1_000_000;

    private readonly NetStack stack;
    private readonly Queue<(Instant At, byte[] Frame)> sent = new();
    private readonly Dictionary<int, TcpConnection> descriptors = new();
    private readonly StringBuilder log = new();
    private readonly Instant start = Instant.FromMilliseconds(1000);
    private readonly TimeSpan tolerance;
    private Instant now;
    private Instant lastEventTime;
    private uint? localIsn;
    private ushort localPort = ServerPort, remotePort = RemoteEphemeralPort;
    private int nextDescriptor = 3;

    public ScriptRunner(TcpOptions? tcp = null, TimeSpan? tolerance = null)
    {
        this.tolerance = tolerance ?? TimeSpan.FromMilliseconds(4); // packetdrill's default tolerance_usecs
        now = start;
        lastEventTime = start;
        stack = new NetStack(new StackOptions
        {
            HardwareAddress = LocalMac,
            Address = new Ipv4Cidr(LocalAddress, 24),
            Gateway = Gateway,
            Secret = [7],
            Tcp = tcp ?? new TcpOptions(),
        }, this);
        // The gateway introduces itself, so that no ARP stands between the script and TCP.
        stack.Receive(Frames.Arp(ArpOperation.Request, GatewayMac, Gateway, MacAddress.Zero, LocalAddress), now);
        sent.Clear();
    }

    public NetStack Stack => stack;
    public string Log => log.ToString();

    public void Transmit(ReadOnlySpan<byte> frame)
    {
        if (frame.Length >= 14 && frame[12] == 0x08 && frame[13] == 0x00) sent.Enqueue((now, frame.ToArray()));
    }

    public void Run(string script)
    {
        foreach (var e in ScriptParser.Parse(script))
        {
            var at = e.Time.Any ? now : e.Time.Relative ? lastEventTime + TimeSpan.FromSeconds(e.Time.Seconds) : start + TimeSpan.FromSeconds(e.Time.Seconds);
            try
            {
                if (e is PacketEvent { Inbound: false } expected) Expect(expected, at);
                else
                {
                    AdvanceTo(at);
                    NoUnexpectedPackets(at, e);
                    if (e is PacketEvent inbound) Inject(inbound);
                    else Call((CallEvent)e);
                }
            }
            catch (ScriptFailure f) { throw new ScriptFailure($"line {e.Line} ({e.Text}): {f.Message}\n--- log ---\n{log}"); }
            lastEventTime = at;
            log.AppendLine($"{(at - start).TotalSeconds:0.000} ok   {e.Text}");
        }
        AdvanceTo(now + tolerance);
        NoUnexpectedPackets(now, null);
    }

    private void AdvanceTo(Instant target)
    {
        while (stack.NextDeadline <= target)
        {
            if (stack.NextDeadline > now) now = stack.NextDeadline;
            stack.Poll(now);
        }
        if (target > now) now = target;
    }

    private void NoUnexpectedPackets(Instant before, ScriptEvent? next)
    {
        if (sent.TryPeek(out var p) && p.At <= before)
            throw new ScriptFailure($"unexpected packet at {(p.At - start).TotalSeconds:0.000}: {Describe(p.Frame)}");
    }

    private void Expect(PacketEvent e, Instant at)
    {
        AdvanceTo(at + tolerance);
        if (!sent.TryDequeue(out var p)) throw new ScriptFailure($"expected a packet at {(at - start).TotalSeconds:0.000}, none was sent");
        if (p.At < at - tolerance || p.At > at + tolerance)
            throw new ScriptFailure($"packet sent at {(p.At - start).TotalSeconds:0.000}, expected at {(at - start).TotalSeconds:0.000} ± {tolerance.TotalMilliseconds} ms: {Describe(p.Frame)}");
        var seg = Read(p.Frame);
        if ((e.Flags & (TcpFlags.Syn | TcpFlags.Rst)) != 0 && localIsn is null) localIsn = seg.Sequence.Value - e.Start;
        uint isn = localIsn ?? throw new ScriptFailure("the local ISN is unknown: the first outbound packet must be a SYN");
        var problems = new List<string>();
        if (seg.Flags != e.Flags) problems.Add($"flags {Flags(seg.Flags)} instead of {Flags(e.Flags)}");
        if (seg.Sequence.Value - isn != e.Start) problems.Add($"seq {seg.Sequence.Value - isn} instead of {e.Start}");
        if (seg.PayloadLength != e.Length) problems.Add($"{seg.PayloadLength} bytes instead of {e.Length}");
        if (e.Ack is { } ack && seg.Acknowledgment.Value - RemoteIsn != ack) problems.Add($"ack {seg.Acknowledgment.Value - RemoteIsn} instead of {ack}");
        if (e.Window is { } win && seg.Window != win) problems.Add($"win {seg.Window} instead of {win}");
        if (e.Options is { } o && (o.MaximumSegmentSize != seg.Options.MaximumSegmentSize || o.WindowScale != seg.Options.WindowScale || o.SackPermitted != seg.Options.SackPermitted))
            problems.Add($"options {seg.Options} instead of {o}");
        if (problems.Count > 0) throw new ScriptFailure($"{string.Join("; ", problems)}: {Describe(p.Frame)}");
    }

    private void Inject(PacketEvent e)
    {
        uint ack = 0;
        if ((e.Flags & TcpFlags.Ack) != 0)
        {
            // Before the stack has sent a SYN (e.g. an ACK to a closed port), its ISN is taken as 0.
            localIsn ??= 0;
            ack = localIsn.Value + (e.Ack ?? 0);
        }
        var repr = new TcpRepr(remotePort, localPort, new SeqNumber(RemoteIsn + e.Start), new SeqNumber(ack), e.Flags, e.Window ?? 65535, 0, e.Options ?? default, e.Length);
        var segment = new byte[repr.Length];
        repr.Write(segment, RemoteAddress, LocalAddress);
        stack.Receive(Frames.Ipv4(IpProtocol.Tcp, segment, RemoteAddress, LocalAddress, LocalMac), now);
    }

    private void Call(CallEvent c)
    {
        (long result, Errno errno) = c.Name switch
        {
            "socket" => Socket(),
            "setsockopt" or "fcntl" => (0, Errno.Ok), // blocking mode and SO_REUSEADDR do not matter to a script-driven core
            "bind" => Ok(stack.Tcp.Bind(Fd(c), new Endpoint(Ipv4Address.Any, ServerPort))),
            "listen" => Ok(stack.Tcp.Listen(Fd(c), int.Parse(c.Arguments[1]), now)),
            "accept" => Accept(c),
            "connect" => Connect(c),
            "write" or "send" => Write(c),
            "read" or "recv" => ReadCall(c),
            "shutdown" => Shutdown(c),
            "close" => Close(c),
            "getsockopt" => GetSockOpt(c),
            _ => throw new ScriptFailure($"the runner does not know the call '{c.Name}'"),
        };
        if (result != c.Result || (c.Errno is not null && errno.ToString() != c.Errno))
            throw new ScriptFailure($"{c.Name} returned {result}{(errno != Errno.Ok ? " " + errno : "")}, expected {c.Result}{(c.Errno is null ? "" : " " + c.Errno)}");
    }

    private static (long, Errno) Ok(Errno e) => e == Errno.Ok ? (0, Errno.Ok) : (-1, e);

    private TcpConnection Fd(CallEvent c) =>
        descriptors.TryGetValue(int.Parse(c.Arguments[0]), out var s) ? s : throw new ScriptFailure($"descriptor {c.Arguments[0]} is not open");

    private (long, Errno) Socket()
    {
        int fd = nextDescriptor++;
        descriptors[fd] = stack.Tcp.Open();
        return (fd, Errno.Ok);
    }

    private (long, Errno) Accept(CallEvent c)
    {
        var child = Fd(c).TakeAccepted();
        if (child is null) return (-1, Errno.EAGAIN);
        int fd = nextDescriptor++;
        descriptors[fd] = child;
        return (fd, Errno.Ok);
    }

    private (long, Errno) Connect(CallEvent c)
    {
        var s = Fd(c);
        var e = stack.Tcp.Connect(s, new Endpoint(RemoteAddress, ServerPort), now);
        localPort = s.Local.Port;
        remotePort = ServerPort;
        return e == Errno.Ok ? (-1, Errno.EINPROGRESS) : (-1, e); // the runner's sockets never block
    }

    private (long, Errno) Write(CallEvent c)
    {
        int n = int.Parse(c.Arguments[2]);
        int written = Fd(c).Send(new byte[n], now, out var e);
        return written > 0 || e == Errno.Ok ? (written, Errno.Ok) : (-1, e);
    }

    private (long, Errno) ReadCall(CallEvent c)
    {
        int n = int.Parse(c.Arguments[2]);
        int read = Fd(c).Receive(new byte[n], false, now, out var e);
        return e == Errno.Ok ? (read, Errno.Ok) : (-1, e);
    }

    private (long, Errno) Shutdown(CallEvent c)
    {
        var s = Fd(c);
        var how = c.Arguments[1];
        if (how is "SHUT_RD" or "SHUT_RDWR") s.ShutdownRead();
        if (how is "SHUT_WR" or "SHUT_RDWR") s.ShutdownWrite(now);
        return (0, Errno.Ok);
    }

    private (long, Errno) Close(CallEvent c)
    {
        stack.Tcp.Close(Fd(c), now);
        descriptors.Remove(int.Parse(c.Arguments[0]));
        return (0, Errno.Ok);
    }

    /// <summary>getsockopt(fd, SOL_SOCKET, SO_ERROR, [ERRNO], [4]): compares the pending error.</summary>
    private (long, Errno) GetSockOpt(CallEvent c)
    {
        if (c.Arguments[2] != "SO_ERROR") throw new ScriptFailure($"getsockopt {c.Arguments[2]} is not supported");
        var expected = c.Arguments[3].Trim('[', ']');
        var actual = Fd(c).TakeError();
        string actualText = actual == Errno.Ok ? "0" : actual.ToString();
        if (actualText != expected) throw new ScriptFailure($"SO_ERROR is {actualText}, expected {expected}");
        return (0, Errno.Ok);
    }

    private static TcpRepr Read(byte[] frame)
    {
        if (!Ipv4Packet.TryRead(frame.AsSpan(14), out var ip, out _) || ip.Protocol != IpProtocol.Tcp)
            throw new ScriptFailure("the stack sent something that is not TCP");
        if (!TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out var why))
            throw new ScriptFailure($"the stack sent a bad segment: {why}");
        return seg.ToRepr();
    }

    private string Describe(byte[] frame)
    {
        var s = Read(frame);
        uint isn = localIsn ?? s.Sequence.Value;
        var start = s.Sequence.Value - isn;
        var ack = (s.Flags & TcpFlags.Ack) != 0 ? $" ack {s.Acknowledgment.Value - RemoteIsn}" : "";
        var mss = s.Options.MaximumSegmentSize is { } m ? $" <mss {m}>" : "";
        return $"> {Flags(s.Flags)} {start}:{start + (uint)s.PayloadLength}({s.PayloadLength}){ack} win {s.Window}{mss}";
    }

    private static string Flags(TcpFlags f)
    {
        var sb = new StringBuilder();
        if ((f & TcpFlags.Syn) != 0) sb.Append('S');
        if ((f & TcpFlags.Fin) != 0) sb.Append('F');
        if ((f & TcpFlags.Rst) != 0) sb.Append('R');
        if ((f & TcpFlags.Psh) != 0) sb.Append('P');
        if ((f & TcpFlags.Ack) != 0) sb.Append('.');
        return sb.ToString();
    }
}

public sealed class ScriptFailure(string message) : Exception(message);
