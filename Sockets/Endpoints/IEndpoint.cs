using UserStack.Time;
using UserStack.Transport;

namespace UserStack.Sockets.Endpoints;

// The protocol side of a socket, one object per socket, as gVisor's tcpip.Endpoint:
//   IEndpoint          what every kind answers: bind, names, readiness and poll(2) events, the
//                      pending error, the common SOL_SOCKET/SOL_IP options, close;
//   IStreamEndpoint    TCP: listen/accept/connect, byte-stream send and receive, shutdown, and
//                      the receive buffer read in place (for the IDuplexPipe);
//   IDatagramEndpoint  UDP and raw IPv4: connect, one datagram per send and receive, shutdown
//                      as remembered flags (raw keeps IP_HDRINCL and refuses MSG_OOB).
// UserSocket holds exactly one endpoint and calls through it; BsdSockets calls UserSocket. Every
// member runs under the host's Gate; the endpoint calls Signal (also under the Gate) when
// something a waiter may want happened, and the socket wakes its own wait queue.

/// <summary>What every kind of socket endpoint answers. Called under the host's Gate.</summary>
internal interface IEndpoint
{
    /// <summary>Set by the socket: called under the Gate when readiness or the error may have changed.</summary>
    Action? Signal { set; }

    Errno Bind(Endpoint local);
    Endpoint LocalEndpoint { get; }
    /// <summary>getpeername(): ENOTCONN when there is no peer.</summary>
    Errno GetPeer(out Endpoint remote);

    bool IsReadable { get; }
    bool IsWritable { get; }
    /// <summary>poll(2) events in Linux's numbers by Linux's rules (tcp_poll, datagram_poll).</summary>
    int PollEvents { get; }
    Errno PendingError { get; }
    /// <summary>SO_ERROR: reads and clears.</summary>
    Errno TakeError();
    /// <summary>SO_ERROR: the pending error, else a soft error (TCP's ICMP advice, Linux's sk_err_soft); either is cleared.</summary>
    Errno TakeSocketError() => TakeError();

    /// <summary>FIONREAD: stream bytes readable, or the next datagram's size.</summary>
    int Available { get; }
    /// <summary>SIOCOUTQ: stream bytes not yet acknowledged; 0 for datagrams.</summary>
    int OutputQueued { get; }
    long ReceiveBufferDrops { get; }

    bool ReuseAddress { get; set; }
    bool Broadcast { get; set; }
    int ReceiveBufferSize { get; }
    int SendBufferSize { get; }
    /// <summary>SO_RCVBUF/SO_SNDBUF; false when the endpoint cannot take it now (TCP after it started).</summary>
    bool TrySetBufferSize(bool receive, int bytes);
    byte TimeToLive { get; set; }
    byte TypeOfService { get; set; }

    /// <summary>shutdown(2) (how is already checked).</summary>
    Errno Shutdown(bool read, bool write, Instant now);
    /// <summary>close(2); <paramref name="abort"/> is SO_LINGER {1, 0}.</summary>
    void Close(Instant now, bool abort);
}

/// <summary>A TCP endpoint: connection-oriented, a byte stream each way.</summary>
internal interface IStreamEndpoint : IEndpoint
{
    Tcp.TcpConnection Connection { get; }
    Tcp.TcpState State { get; }
    bool IsListening { get; }
    bool IsConnecting { get; }
    /// <summary>The handshake is complete (ESTABLISHED or later, not closed).</summary>
    bool IsConnected { get; }
    bool CanAccept { get; }
    /// <summary>Nothing more will arrive: FIN, SHUT_RD, an error or the connection gone.</summary>
    bool ReceiveEnded { get; }

    Errno Listen(int backlog, Instant now);
    Errno Connect(Endpoint remote, Instant now);
    /// <summary>The next established connection, or null.</summary>
    IStreamEndpoint? Accept();

    /// <summary>Queues what fits of <paramref name="data"/> and transmits; EAGAIN when nothing fit.</summary>
    int Send(ReadOnlySpan<byte> data, Instant now, out Errno error, bool urgent = false);
    /// <summary>Takes (or peeks) in-order bytes; 0 with Ok is the end of the stream.</summary>
    int Receive(Span<byte> destination, bool peek, Instant now, out Errno error);

    /// <summary>The readable bytes in place, as up to two pieces of the receive ring (valid until <see cref="Consume"/>).</summary>
    int PeekReceived(out ReadOnlyMemory<byte> first, out ReadOnlyMemory<byte> second);
    /// <summary>Drops <paramref name="count"/> bytes read in place and opens the window as a receive would.</summary>
    void Consume(int count, Instant now);
}

/// <summary>A UDP or raw IPv4 endpoint: one datagram per call.</summary>
internal interface IDatagramEndpoint : IEndpoint
{
    bool IsConnected { get; }
    bool ReadShut { get; }
    bool WriteShut { get; }
    /// <summary>recv with MSG_OOB: raw sockets refuse it (EOPNOTSUPP), UDP ignores the bit.</summary>
    bool RefusesOutOfBand { get; }

    Errno Connect(Endpoint remote);
    /// <summary>One datagram to <paramref name="to"/> or the peer; <paramref name="headerIncluded"/> is IP_HDRINCL (raw only).</summary>
    Errno Send(ReadOnlySpan<byte> data, Endpoint? to, Instant now, bool headerIncluded);
    /// <summary>The next datagram (cut to the buffer; <paramref name="fullLength"/> is its size); EAGAIN when none.</summary>
    Errno Receive(Span<byte> buffer, bool peek, out int copied, out int fullLength, out Endpoint from);
}
