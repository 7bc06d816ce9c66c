using UserStack.Diagnostics;
using UserStack.Drivers.Virtual;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tracing;

/// <summary>Keeps every trace event of one stack.</summary>
public sealed class TraceRecorder : ITraceSink
{
    public List<TraceEvent> Events { get; } = new();
    public void Write(TraceEvent e) => Events.Add(e);
}

/// <summary>
/// A scripted conversation between stacks A (client, 10.9.0.1) and B (server, port 7) on a
/// clean virtual wire with 1 ms delay: ARP, handshake, an echo of "hello", a segment lost once
/// (retransmitted by RTO), a corrupted frame B drops, and both sides closing through TIME-WAIT.
/// Deterministic: fixed secrets, addresses and virtual time, so its trace is a golden file.
/// </summary>
public sealed class TraceScenario
{
    public WiredPair Pair { get; } = new(1, new WireFaults { Delay = TimeSpan.FromMilliseconds(1) });
    public TraceRecorder A { get; } = new();
    public TraceRecorder B { get; } = new();
    /// <summary>Every frame on the wire with its time, as A and B sent them.</summary>
    public List<(byte[] Frame, UserStack.Time.Instant At)> Wire { get; } = new();

    public static TraceScenario Run(bool traced = true)
    {
        var s = new TraceScenario();
        s.Play(traced);
        return s;
    }

    private void Play(bool traced)
    {
        var (wire, a, b) = (Pair.Wire, Pair.A, Pair.B);
        if (traced) { a.Trace = A; b.Trace = B; }
        wire.Capture = (frame, at) => Wire.Add((frame.ToArray(), at));
        var (client, server) = Pair.Connect(7);
        Assert.That(server, Is.Not.Null, "B accepted the connection");

        Echo(client, server!, "hello"u8);

        // One data segment lost on the wire: A resends it when its RTO expires.
        wire.Faults = new WireFaults { Drop = 1.0, Delay = TimeSpan.FromMilliseconds(1) };
        client.Send("again"u8, wire.Now, out _);
        wire.RunFor(TimeSpan.FromMilliseconds(5));
        wire.Faults = new WireFaults { Delay = TimeSpan.FromMilliseconds(1) };
        Echo(client, server!, default);
        Assert.That(Read(client), Is.EqualTo("again"), "the lost segment arrived by retransmission");

        // A corrupted copy of A's last segment: B drops it for its checksum.
        var last = Wire.Last(f => f.Frame[11] == 0x01 && f.Frame[23] == (byte)IpProtocol.Tcp).Frame.ToArray();
        last[EthernetFrame.HeaderLength + 20 + 14] ^= 0xFF; // the window field: the TCP checksum no longer holds
        b.Receive(last, wire.Now);

        // A closes, B sees the end of the stream and closes too; A waits in TIME-WAIT (2 MSL).
        a.Tcp.Close(client, wire.Now);
        wire.RunUntil(() => server!.State == TcpState.CloseWait, TimeSpan.FromSeconds(1));
        b.Tcp.Close(server!, wire.Now);
        wire.RunUntil(() => client.State == TcpState.Closed, TimeSpan.FromMinutes(5));
        Assert.That(client.State, Is.EqualTo(TcpState.Closed));
    }

    /// <summary>B reads what A sent (if any) and sends it back.</summary>
    private void Echo(TcpConnection client, TcpConnection server, ReadOnlySpan<byte> data)
    {
        var wire = Pair.Wire;
        if (!data.IsEmpty) client.Send(data, wire.Now, out _);
        wire.RunUntil(() => server.Available > 0, TimeSpan.FromSeconds(5));
        var buffer = new byte[100];
        int n = server.Receive(buffer, false, wire.Now, out _);
        server.Send(buffer.AsSpan(0, n), wire.Now, out _);
        wire.RunUntil(() => client.Available >= n, TimeSpan.FromSeconds(5));
        if (!data.IsEmpty) Assert.That(Read(client), Is.EqualTo(System.Text.Encoding.ASCII.GetString(data)));
    }

    private string Read(TcpConnection c)
    {
        var buffer = new byte[100];
        int n = c.Receive(buffer, false, Pair.Wire.Now, out _);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, Math.Max(n, 0));
    }
}
