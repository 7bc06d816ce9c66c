using UserStack.Diagnostics;
using UserStack.Drivers.Virtual;
using UserStack.Tcp;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tools.Labs;

/// <summary>What a lab's two stacks look like: TCP options per side, the link's MTU and one-way delay.</summary>
public sealed record LabSetup
{
    public TcpOptions? TcpA { get; init; }
    public TcpOptions? TcpB { get; init; }
    public int Mtu { get; init; } = 1500;
    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(1);
}

/// <summary>
/// Stacks A (10.9.0.1, the left column) and B (10.9.0.2, the right) on a <see cref="VirtualWire"/>
/// driven by its virtual clock. Each stack's frames pass through a scripted sink first, which drops
/// the frames the lab names (<see cref="DropFromA"/>, <see cref="DropFromB"/>); every trace event
/// is formatted as it happens and kept in <see cref="Items"/>, in time order, for the ladder.
/// Deterministic: fixed addresses, secrets and seed.
/// </summary>
public sealed class LabSession
{
    public static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.9.0.1");
    public static readonly Ipv4Address AddressB = Ipv4Address.Parse("10.9.0.2");
    public static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:09:01");
    public static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:09:02");

    private readonly VirtualWire.Port portA;

    public LabSession(LabSetup setup, Func<string, ReadOnlyMemory<byte>, bool>? sabotage = null)
    {
        Sabotage = sabotage;
        Wire = new VirtualWire(1, new WireFaults { Delay = setup.Delay });
        portA = Wire.CreatePort("A");
        var portB = Wire.CreatePort("B");
        TraceA = new Recorder(this, "A");
        TraceB = new Recorder(this, "B");
        A = new NetStack(Options(MacA, AddressA, 1, setup.Mtu, setup.TcpA), new ScriptedSink(this, "A", portA)) { Trace = TraceA };
        B = new NetStack(Options(MacB, AddressB, 2, setup.Mtu, setup.TcpB ?? setup.TcpA), new ScriptedSink(this, "B", portB)) { Trace = TraceB };
        portA.Connect(A);
        portB.Connect(B);
    }

    private static StackOptions Options(MacAddress mac, Ipv4Address ip, byte secret, int mtu, TcpOptions? tcp) => new()
    {
        HardwareAddress = mac, Address = new Ipv4Cidr(ip, 24), Secret = [secret], Mtu = mtu, Tcp = tcp ?? new TcpOptions(), InitialIdentification = (ushort)(secret * 1000),
    };

    public VirtualWire Wire { get; }
    public NetStack A { get; }
    public NetStack B { get; }
    public Recorder TraceA { get; }
    public Recorder TraceB { get; }
    public List<LadderItem> Items { get; } = new();
    public UserStack.Time.Instant Now => Wire.Now;

    /// <summary>Frames from A (B) for which this holds are lost on the wire; it sees each frame once, in order.</summary>
    public Func<ReadOnlyMemory<byte>, bool>? DropFromA { get; set; }
    public Func<ReadOnlyMemory<byte>, bool>? DropFromB { get; set; }
    /// <summary>A fault forced from outside (tests): frames from host "A"/"B" for which it holds are lost too.</summary>
    public Func<string, ReadOnlyMemory<byte>, bool>? Sabotage { get; }
    public int LostFrames { get; private set; }

    public bool RunUntil(Func<bool> done, TimeSpan limit) => Wire.RunUntil(done, limit);
    public void RunFor(TimeSpan span) => Wire.RunFor(span);

    /// <summary>B listens on <paramref name="port"/>; A connects; runs until B accepted. Null when it did not.</summary>
    public (TcpConnection Client, TcpConnection? Server) Connect(ushort port = 7, int backlog = 4)
    {
        var listener = Listen(B, port, backlog);
        var client = A.Tcp.Open();
        A.Tcp.Connect(client, new Endpoint(AddressB, port), Now);
        TcpConnection? server = null;
        RunUntil(() => (server ??= listener.TakeAccepted()) is not null, TimeSpan.FromSeconds(10));
        return (client, server);
    }

    /// <summary>
    /// Runs until <paramref name="to"/> has read <paramref name="data"/> whole, <paramref name="from"/> writing what its buffer takes
    /// and <paramref name="to"/> reading as it arrives (unless <paramref name="read"/> is false); the bytes read so far.
    /// </summary>
    public List<byte> Transfer(TcpConnection from, TcpConnection to, byte[] data, TimeSpan limit, bool read = true, List<byte>? received = null, int alreadySent = 0)
    {
        received ??= new List<byte>();
        int sent = alreadySent;
        var buffer = new byte[65536];
        var got = received;
        RunUntil(() =>
        {
            if (sent < data.Length) sent += Math.Max(0, from.Send(data.AsSpan(sent), Now, out _));
            if (read) { int n; while ((n = to.Receive(buffer, false, Now, out _)) > 0) got.AddRange(buffer.AsSpan(0, n).ToArray()); }
            return got.Count >= data.Length;
        }, limit);
        return received;
    }

    /// <summary>Deterministic bytes to send.</summary>
    public static byte[] Pattern(int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++) data[i] = (byte)(i * 7 + i / 251);
        return data;
    }

    public TcpConnection Listen(NetStack on, ushort port, int backlog = 4)
    {
        var listener = on.Tcp.Open();
        on.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, port));
        on.Tcp.Listen(listener, backlog, Now);
        return listener;
    }

    /// <summary>Puts a frame the lab built on the wire as if a host on A's side sent it (an attacker); shown in the left column with <paramref name="note"/>.</summary>
    public void Inject(byte[] frame, string note)
    {
        Items.Add(new LadderItem("A", TraceB.Formatter.Format(new FrameSent(Now, frame, default))) { Note = note });
        portA.Transmit(frame);
    }

    /// <summary>Every trace event of one stack, formatted in order (relative sequence numbers need them all).</summary>
    public sealed class Recorder(LabSession session, string host) : ITraceSink
    {
        public TraceFormatter Formatter { get; } = new();
        public List<TraceEvent> Events { get; } = new();

        public void Write(TraceEvent e)
        {
            Events.Add(e);
            var record = Formatter.Format(e);
            if (record.Kind == TraceKind.Frame && record.Direction == "in") return; // the sender's line shows it
            session.Items.Add(new LadderItem(host, record));
        }
    }

    /// <summary>The stack's frame sink: loses the frames the lab drops, passes the rest to the wire.</summary>
    private sealed class ScriptedSink(LabSession session, string host, VirtualWire.Port port) : IFrameSink
    {
        public void Transmit(ReadOnlySpan<byte> frame)
        {
            var copy = frame.ToArray();
            var drop = host == "A" ? session.DropFromA : session.DropFromB;
            if ((drop?.Invoke(copy) ?? false) | (session.Sabotage?.Invoke(host, copy) ?? false))
            {
                session.LostFrames++;
                // the stack traced this frame just before handing it over: mark it lost
                for (int i = session.Items.Count - 1; i >= 0; i--)
                    if (session.Items[i] is { Host: var h, Record.Kind: TraceKind.Frame } item && h == host) { item.Lost = true; break; }
                return;
            }
            port.Transmit(frame);
        }
    }
}

/// <summary>One line of the ladder: a frame a host sent (or an event of that host), already formatted.</summary>
public sealed record LadderItem(string Host, TraceRecord Record)
{
    /// <summary>The wire lost it (the lab dropped it).</summary>
    public bool Lost { get; set; }
    /// <summary>Extra words for the margin, e.g. who forged the frame.</summary>
    public string? Note { get; init; }
}

/// <summary>Questions labs ask of what a host traced.</summary>
public static class LabTraceQueries
{
    /// <summary>Did the host move a connection into <paramref name="to"/> (an RFC state name such as "Established")?</summary>
    public static bool Entered(this LabSession.Recorder r, string to) => r.Events.OfType<UserStack.Diagnostics.TcpStateChanged>().Any(c => c.To == to);

    /// <summary>The frames the host sent for <paramref name="reason"/>.</summary>
    public static List<UserStack.Diagnostics.FrameSent> Sent(this LabSession.Recorder r, UserStack.Diagnostics.FrameReason reason) =>
        r.Events.OfType<UserStack.Diagnostics.FrameSent>().Where(f => f.Note.Reason == reason).ToList();

    /// <summary>The TCP segments the host sent whose flags match.</summary>
    public static List<UserStack.Diagnostics.FrameSent> SentTcp(this LabSession.Recorder r, Func<UserStack.Wire.TcpFlags, bool> flags) =>
        r.Events.OfType<UserStack.Diagnostics.FrameSent>().Where(f => LabFrames.TryTcp(f.Frame, out var fl, out _) && flags(fl)).ToList();

    /// <summary>The TCP data segments the host sent (payload length above zero).</summary>
    public static List<UserStack.Diagnostics.FrameSent> SentData(this LabSession.Recorder r) =>
        r.Events.OfType<UserStack.Diagnostics.FrameSent>().Where(f => LabFrames.TryTcp(f.Frame, out _, out int n) && n > 0).ToList();
}
