using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>
/// Random inputs for the built-in engine, biased towards what a TCP conversation looks like
/// (in-sequence numbers, common flag combinations, sockets opened early) but able to produce
/// every action the decoder knows.
/// </summary>
public sealed class Generator(Random rng)
{
    private static readonly TcpFlags[] CommonFlags =
    [
        TcpFlags.Ack, TcpFlags.Ack | TcpFlags.Psh, TcpFlags.Syn, TcpFlags.Syn | TcpFlags.Ack, TcpFlags.Fin | TcpFlags.Ack,
        TcpFlags.Rst, TcpFlags.Rst | TcpFlags.Ack, TcpFlags.Fin, TcpFlags.None, TcpFlags.Ack | TcpFlags.Urg, TcpFlags.Syn | TcpFlags.Fin,
    ];

    public FuzzConfig Config()
    {
        byte flags = (byte)rng.Next(256);
        if (rng.Next(10) < 7) flags |= 1; // the peer on autopilot most of the time
        return new FuzzConfig(flags, (byte)(rng.Next(3) == 0 ? rng.Next(256) : 0), Buffer(), Buffer());
    }

    private byte Buffer() => (byte)(rng.Next(4) == 0 ? rng.Next(256) : 0);

    public List<FuzzAction> Actions()
    {
        var list = new List<FuzzAction>();
        // Most runs start with a socket: a listener, or a connection to the peer.
        if (rng.Next(4) != 0) list.Add(new CallAction(rng.Next(2) == 0 ? SocketCall.Listen : SocketCall.Connect, 0, (uint)rng.Next(1 << 12) & ~1u));
        int n = rng.Next(5, 120);
        for (int i = 0; i < n; i++) list.Add(Action());
        return list;
    }

    public FuzzAction Action() => rng.Next(100) switch
    {
        < 25 => Segment(),
        < 50 => new PeerAction((PeerMove)rng.Next(8), (byte)rng.Next(4), (ushort)Small(65536)),
        < 65 => Time(),
        < 95 => Call(),
        < 97 => new RawAction((byte)rng.Next(3), Bytes(rng.Next(0, 80))),
        _ => new FlipAction((ushort)rng.Next(65536), rng.Next(2) == 0),
    };

    private SegmentAction Segment() => new(
        (byte)(rng.Next(5) == 0 ? rng.Next(256) : rng.Next(4)),
        rng.Next(8) == 0 ? (TcpFlags)rng.Next(256) : CommonFlags[rng.Next(CommonFlags.Length)],
        (byte)(rng.Next(2) == 0 ? 0 : rng.Next(5)), U32(),
        (byte)(rng.Next(2) == 0 ? 0 : rng.Next(5)), U32(),
        (ushort)(rng.Next(3) switch { 0 => 65535, 1 => 0, _ => rng.Next(65536) }),
        (byte)(rng.Next(3) == 0 ? 0 : rng.Next(256) & ~0x60 | (rng.Next(8) == 0 ? rng.Next(256) & 0x60 : 0)),
        (ushort)(rng.Next(2) == 0 ? 1460 : rng.Next(65536)), (byte)rng.Next(16), (uint)Small(int.MaxValue),
        (byte)rng.Next(4), (ushort)Small(65536), (ushort)Small(65536), (ushort)Small(2048), (ushort)rng.Next(65536));

    private TimeAction Time() => rng.Next(20) switch
    {
        < 10 => new TimeAction(TimeStepKind.Milliseconds, (uint)rng.Next(1000)),
        < 15 => new TimeAction(TimeStepKind.NextDeadline, 0),
        < 19 => new TimeAction(TimeStepKind.Seconds, (uint)rng.Next(700)),
        _ => new TimeAction(TimeStepKind.Hours, (uint)rng.Next(5)),
    };

    private CallAction Call()
    {
        var call = (SocketCall)rng.Next(16);
        if (rng.Next(3) == 0) call = rng.Next(2) == 0 ? SocketCall.Send : SocketCall.Receive;
        uint value = (uint)rng.Next(4) << 30 | (uint)Small(1 << 28) | (uint)rng.Next(2) << 28;
        return new CallAction(call, (byte)rng.Next(4), value);
    }

    /// <summary>Mostly small numbers, sometimes anything below <paramref name="max"/>.</summary>
    private int Small(int max) => rng.Next(3) switch { 0 => rng.Next(Math.Min(max, 16)), 1 => rng.Next(Math.Min(max, 2000)), _ => rng.Next(max) };

    private uint U32() => rng.Next(3) switch { 0 => (uint)rng.Next(16), 1 => (uint)rng.Next(70000), _ => (uint)rng.NextInt64(1L << 32) };

    private byte[] Bytes(int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }
}
