using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Raw;

/// <summary>
/// A raw IPv4 socket (SOCK_RAW) for one protocol, as on Linux: it receives a copy of every
/// datagram of that protocol addressed to us, IP header included, and sends the payload it is
/// given (e.g. a whole ICMP message, checksum computed by the caller) inside an IPv4 header.
/// </summary>
public sealed class RawSocket
{
    private readonly DatagramQueue queue = new();

    internal RawSocket(IpProtocol protocol) => Protocol = protocol;

    public IpProtocol Protocol { get; }
    /// <summary>bind(): receive only datagrams to this address (Any: all of ours).</summary>
    public Ipv4Address LocalAddress { get; internal set; }
    /// <summary>connect(): receive only from, and send by default to, this address.</summary>
    public Ipv4Address? RemoteAddress { get; internal set; }
    public bool IsClosed { get; internal set; }
    public bool Broadcast { get; set; }
    public byte TimeToLive { get; set; } = Ipv4Repr.DefaultTimeToLive;
    /// <summary>IP_TOS: the type-of-service byte of outgoing datagrams.</summary>
    public byte TypeOfService { get; set; }
    public int ReceiveBufferSize { get => queue.Capacity; set => queue.Capacity = value; }
    public int SendBufferSize { get; set; } = 212992;
    public Errno PendingError { get; internal set; }
    public int QueuedDatagrams => queue.Count;
    public long ReceiveBufferDrops => queue.Overflows;
    public int NextDatagramLength => queue.NextLength;
    public bool IsReadable => queue.Count > 0;
    public Action? Signal { get; set; }

    internal bool Accepts(in Ipv4Packet packet) =>
        packet.Protocol == Protocol &&
        (LocalAddress.IsUnspecified || LocalAddress == packet.Destination) &&
        (RemoteAddress is not { } r || r == packet.Source);

    internal bool Enqueue(ReadOnlySpan<byte> datagram, Ipv4Address from)
    {
        if (!queue.TryEnqueue(datagram, new Endpoint(from, 0))) return false;
        Signal?.Invoke();
        return true;
    }

    /// <summary>The next datagram, IP header included; EAGAIN when none waits.</summary>
    public Errno TryReceive(Span<byte> buffer, bool peek, out int copied, out int fullLength, out Endpoint from) =>
        queue.TryDequeue(buffer, peek, out copied, out fullLength, out from) ? Errno.Ok : Errno.EAGAIN;

    internal void Discard() => queue.Clear();

    public Errno TakeError()
    {
        var e = PendingError;
        PendingError = Errno.Ok;
        return e;
    }

    public override string ToString() => $"raw {Protocol} {LocalAddress}{(RemoteAddress is { } r ? " -> " + r : "")}";
}
