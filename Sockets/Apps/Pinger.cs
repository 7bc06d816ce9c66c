using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Sockets.Apps;

/// <summary>One answered echo: its sequence number, size, TTL and round-trip time.</summary>
public readonly record struct PingReply(ushort Sequence, int Bytes, Ipv4Address From, byte TimeToLive, TimeSpan RoundTrip);

/// <summary>The summary ping prints at the end.</summary>
public sealed record PingSummary(int Transmitted, int Received, TimeSpan Elapsed, IReadOnlyList<PingReply> Replies)
{
    public double LossPercent => Transmitted == 0 ? 0 : 100.0 * (Transmitted - Received) / Transmitted;
}

/// <summary>
/// ping from inside the stack, through a raw ICMP socket (RFC 792 echo): the same request
/// format as iputils (identifier, sequence, data), the replies read back with their IP header.
/// </summary>
public sealed class Pinger(StackHost host)
{
    public PingSummary Run(Ipv4Address target, int count, int size, TimeSpan interval, TimeSpan timeout, Action<PingReply>? onReply = null, Action<ushort>? onTimeout = null, CancellationToken cancel = default)
    {
        using var socket = UserSocket.Create(host, SocketType.Raw, ProtocolType.Icmp);
        ushort identifier = (ushort)Random.Shared.Next(1, 65536);
        var request = new byte[IcmpPacket.HeaderLength + size];
        var buffer = new byte[65536];
        var replies = new List<PingReply>();
        var clock = Stopwatch.StartNew();
        int transmitted = 0;

        for (ushort sequence = 1; sequence <= count && !cancel.IsCancellationRequested; sequence++)
        {
            var started = clock.Elapsed;
            for (int i = 0; i < size; i++) request[IcmpPacket.HeaderLength + i] = (byte)(i + 8); // iputils' default pattern
            IcmpRepr.Echo(IcmpType.EchoRequest, identifier, sequence, size).Write(request);
            var e = socket.TrySendTo(request, new Endpoint(target, 0), out _);
            if (e != Errno.Ok) throw new SocketException((int)e.ToSocketError());
            transmitted++;

            var deadline = started + timeout;
            bool answered = false;
            while (!answered && clock.Elapsed < deadline && !cancel.IsCancellationRequested)
            {
                socket.ReceiveTimeout = deadline - clock.Elapsed;
                if (socket.TryReceiveFrom(buffer, SocketFlags.None, out var r) != Errno.Ok) continue;
                if (!Ipv4Packet.TryRead(buffer.AsSpan(0, r.Length), out var ip, out _)) continue;
                if (!IcmpPacket.TryRead(ip.Payload, out var icmp, out _)) continue;
                if (icmp.Type != IcmpType.EchoReply || icmp.Identifier != identifier || icmp.SequenceNumber != sequence) continue;
                if (!icmp.Payload.SequenceEqual(request.AsSpan(IcmpPacket.HeaderLength))) continue; // corrupted: not an answer
                var reply = new PingReply(sequence, icmp.Bytes.Length, ip.Source, ip.TimeToLive, clock.Elapsed - started);
                replies.Add(reply);
                onReply?.Invoke(reply);
                answered = true;
            }
            if (!answered) onTimeout?.Invoke(sequence);
            if (sequence < count)
            {
                var wait = started + interval - clock.Elapsed;
                if (wait > TimeSpan.Zero) cancel.WaitHandle.WaitOne(wait);
            }
        }
        return new PingSummary(transmitted, replies.Count, clock.Elapsed, replies);
    }
}
