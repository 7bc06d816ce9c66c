using UserStack.Transport;

namespace UserStack.Udp;

/// <summary>
/// The protocol state of one UDP socket (RFC 768): its binding, its peer when connected, its
/// options, and the queue of datagrams that arrived for it, bounded by SO_RCVBUF.
/// </summary>
public sealed class UdpSocket : IBoundEndpoint
{
    /// <summary>RFC 768 over IPv4: 65535 - 20 - 8.</summary>
    public const int MaximumPayload = 65507;

    private readonly DatagramQueue queue = new();

    internal UdpSocket() { }

    public Endpoint Local { get; internal set; }
    public Endpoint? Remote { get; internal set; }
    public bool IsBound { get; internal set; }
    public bool IsClosed { get; internal set; }
    public bool ReuseAddress { get; set; }
    /// <summary>SO_BROADCAST: permission to send to a broadcast address.</summary>
    public bool Broadcast { get; set; }
    public byte TimeToLive { get; set; } = Wire.Ipv4Repr.DefaultTimeToLive;
    /// <summary>IP_MTU_DISCOVER: Linux's default for UDP (ip_no_pmtu_disc = 0) is WANT: DF on datagrams that fit, fragments otherwise.</summary>
    public Ip.PathMtuDiscovery PathMtuDiscovery { get; set; } = Ip.PathMtuDiscovery.Want;
    /// <summary>IP_TOS: the type-of-service byte of outgoing datagrams.</summary>
    public byte TypeOfService { get; set; }
    /// <summary>SO_RCVBUF in bytes (Linux's default rmem_default).</summary>
    public int ReceiveBufferSize { get => queue.Capacity; set => queue.Capacity = value; }
    /// <summary>SO_SNDBUF in bytes; UDP sends at once, so it only bounds one datagram.</summary>
    public int SendBufferSize { get; set; } = 212992;
    /// <summary>SO_ERROR: an asynchronous error (ICMP) waiting to be reported once.</summary>
    public Errno PendingError { get; internal set; }
    public int QueuedBytes => queue.Bytes;
    public int QueuedDatagrams => queue.Count;
    /// <summary>Datagrams dropped because the receive buffer was full.</summary>
    public long ReceiveBufferDrops => queue.Overflows;
    /// <summary>Called under the host lock when the socket becomes readable or gets an error.</summary>
    public Action? Signal { get; set; }

    /// <summary>FIONREAD on a datagram socket: the size of the next datagram (Linux udp_ioctl).</summary>
    public int NextDatagramLength => queue.NextLength;
    public bool IsReadable => queue.Count > 0 || PendingError != Errno.Ok;

    internal bool Enqueue(ReadOnlySpan<byte> payload, Endpoint from)
    {
        if (!queue.TryEnqueue(payload, from)) return false;
        Signal?.Invoke();
        return true;
    }

    internal void SetError(Errno error)
    {
        PendingError = error;
        Signal?.Invoke();
    }

    /// <summary>Takes and clears the pending error (SO_ERROR semantics).</summary>
    public Errno TakeError()
    {
        var e = PendingError;
        PendingError = Errno.Ok;
        return e;
    }

    /// <summary>
    /// recvmsg on a datagram: copies the next datagram (truncated to the buffer, as MSG_TRUNC
    /// reports) and removes it unless peeking. EAGAIN when the queue is empty.
    /// </summary>
    public Errno TryReceive(Span<byte> buffer, bool peek, out int copied, out int fullLength, out Endpoint from) =>
        queue.TryDequeue(buffer, peek, out copied, out fullLength, out from) ? Errno.Ok : Errno.EAGAIN;

    internal void Discard() => queue.Clear();

    public override string ToString() => $"udp {Local}{(Remote is { } r ? " -> " + r : "")}";
}
