using UserStack.Diagnostics;
using UserStack.Ip;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Icmp;

/// <summary>
/// ICMP (RFC 792, RFC 1122 3.2.2): answers echo requests, counts the rest, and sends
/// rate-limited error messages for the layers above.
/// </summary>
public sealed class IcmpLayer : IIpProtocolHandler
{
    /// <summary>Destination unreachable code 0, "net unreachable" (RFC 792): a router has no route (RFC 1812 5.2.7.1).</summary>
    public const byte NetUnreachable = 0;
    public const byte ProtocolUnreachable = 2;
    public const byte PortUnreachable = 3;
    /// <summary>Destination unreachable code 4, "fragmentation needed and DF set" (RFC 792, RFC 1191 4: with the next-hop MTU).</summary>
    public const byte FragmentationNeeded = 4;
    /// <summary>Time exceeded code 1, "fragment reassembly time exceeded" (RFC 792).</summary>
    public const byte FragmentReassemblyTimeExceeded = 1;
    /// <summary>Time exceeded code 0, "time to live exceeded in transit" (RFC 792, RFC 1812 5.3.1).</summary>
    public const byte TimeToLiveExceeded = 0;
    /// <summary>RFC 1812 4.3.2.3: an error carries as much of the original as fits in 576 bytes.</summary>
    private const int MaximumErrorDatagram = 576;

    private readonly NetStack stack;
    private readonly TokenBucket errorLimiter;
    private readonly IIcmpErrorHandler?[] errorHandlers = new IIcmpErrorHandler?[256];

    internal IcmpLayer(NetStack stack)
    {
        this.stack = stack;
        errorLimiter = new TokenBucket(stack.Options.IcmpErrorsPerSecond, stack.Options.IcmpErrorBurst);
    }

    /// <summary>Registers the transport that gets errors about datagrams of <paramref name="protocol"/>.</summary>
    public void RegisterErrorHandler(IpProtocol protocol, IIcmpErrorHandler handler) => errorHandlers[(int)protocol] = handler;

    public void Receive(in Ipv4Packet ip, Instant now)
    {
        if (!IcmpPacket.TryRead(ip.Payload, out var icmp, out var why)) { stack.Drop(why, now); return; }
        stack.Counters.Increment(Counter.IcmpReceived);
        switch (icmp.Type)
        {
            case IcmpType.EchoRequest:
                stack.Counters.Increment(Counter.IcmpEchoRequestsReceived);
                // RFC 1122 3.2.2.6: an echo to a broadcast address MAY be discarded; Linux does.
                if (stack.Ipv4.IsBroadcast(ip.Destination)) { stack.Drop(DropReason.IcmpBroadcastEcho, now); return; }
                Reply(ip, icmp, now);
                break;
            case IcmpType.EchoReply:
                stack.Counters.Increment(Counter.IcmpEchoRepliesReceived);
                break;
            case IcmpType.DestinationUnreachable or IcmpType.TimeExceeded or IcmpType.ParameterProblem:
                stack.Counters.Increment(Counter.IcmpOtherReceived);
                // RFC 1122 3.2.2: pass the error to the transport that sent the quoted datagram.
                if (QuotedDatagram.TryRead(icmp.Payload, out var quoted) && stack.Ipv4.IsLocal(quoted.Source))
                {
                    int nextHopMtu = icmp.Type == IcmpType.DestinationUnreachable && icmp.Code == FragmentationNeeded ? (int)(icmp.RestOfHeader & 0xFFFF) : 0;
                    errorHandlers[(int)quoted.Protocol]?.ReceiveError(icmp.Type, icmp.Code, nextHopMtu, quoted, now);
                }
                break;
            case IcmpType.SourceQuench or IcmpType.Redirect or IcmpType.Timestamp or IcmpType.TimestampReply:
                // RFC 6633: source quench is ignored; a host with one route has no use for redirects.
                stack.Counters.Increment(Counter.IcmpOtherReceived);
                break;
            default:
                // RFC 1122 3.2.2: an unknown type MUST be silently discarded.
                stack.Drop(DropReason.IcmpUnknownType, now);
                break;
        }
    }

    /// <summary>RFC 792 echo: same identifier, sequence and data, from the address that was pinged; Record Route and Timestamp reflected (RFC 1122 3.2.2.6).</summary>
    private void Reply(in Ipv4Packet ip, in IcmpPacket request, Instant now)
    {
        var message = request.Bytes;
        var buffer = stack.Ipv4.PayloadBuffer;
        // A peer with a larger MTU can send more than we can answer in one datagram.
        if (message.Length > buffer.Length) { stack.Drop(DropReason.Ipv4TooBig, now); return; }
        message.CopyTo(buffer);
        IcmpRepr.Echo(IcmpType.EchoReply, request.Identifier, request.SequenceNumber, request.Payload.Length).Write(buffer);
        Span<byte> options = stackalloc byte[Ipv4Packet.MaximumHeaderLength - Ipv4Packet.MinimumHeaderLength];
        int optionsLength = ip.Options.IsEmpty ? 0 : EchoOptions.Reflect(ip.Options, options, ip.Destination, now);
        if (stack.Ipv4.Send(ip.Destination, ip.Source, IpProtocol.Icmp, message.Length, now, ip.TypeOfService, options: options[..optionsLength]))
        {
            stack.Counters.Increment(Counter.IcmpEchoRepliesSent);
            stack.Trace?.Write(new EchoAnswered(now, ip.Source, request.Identifier, request.SequenceNumber, request.Payload.Length));
        }
    }

    /// <summary>
    /// Sends an ICMP error about <paramref name="original"/>, unless RFC 1122 3.2.2 forbids it
    /// (the original is an ICMP error, went to a broadcast or multicast address, came from a
    /// non-unicast source, or is a later fragment) or the rate limit says no.
    /// </summary>
    public bool SendError(IcmpType type, byte code, in Ipv4Packet original, Instant now, uint restOfHeader = 0)
    {
        if (stack.Ipv4.IsBroadcast(original.Destination) || original.Destination.IsMulticast) return false;
        if (original.Source.IsUnspecified || original.Source.IsMulticast || stack.Ipv4.IsBroadcast(original.Source)) return false;
        if (original.FragmentOffset != 0) return false;
        if (original.Protocol == IpProtocol.Icmp && IsError(original.Payload)) return false;
        if (!errorLimiter.TryTake(now)) return false;

        // From the address of the link back to the source (Linux's route source; on a router, usually the arrival link's).
        var source = stack.Ipv4.SourceFor(original.Source);
        int quoted = Math.Min(original.Bytes.Length, Math.Min(MaximumErrorDatagram, stack.Ipv4.MtuFor(original.Source)) - Ipv4Packet.MinimumHeaderLength - IcmpPacket.HeaderLength);
        var buffer = stack.Ipv4.PayloadBuffer;
        original.Bytes[..quoted].CopyTo(buffer[IcmpPacket.HeaderLength..]);
        new IcmpRepr(type, code, restOfHeader, quoted).Write(buffer);
        if (!stack.Ipv4.Send(source, original.Source, IpProtocol.Icmp, IcmpPacket.HeaderLength + quoted, now)) return false;
        stack.Counters.Increment(Counter.IcmpErrorsSent);
        return true;
    }

    /// <summary>
    /// RFC 1191 4 / RFC 1812 5.2.7.1: a datagram with DF that cannot pass a link of
    /// <paramref name="nextHopMtu"/> bytes gets "fragmentation needed" carrying that MTU in the low
    /// 16 bits of the second word. For forwarding; a local send over the MTU with DF is EMSGSIZE instead.
    /// </summary>
    public bool SendFragmentationNeeded(in Ipv4Packet original, int nextHopMtu, Instant now) =>
        SendError(IcmpType.DestinationUnreachable, FragmentationNeeded, original, now, (ushort)nextHopMtu);

    /// <summary>The errno a socket reports for an ICMP error, as Linux's icmp_err_convert does.</summary>
    public static Errno ToErrno(IcmpType type, byte code) => type switch
    {
        IcmpType.DestinationUnreachable => code switch
        {
            0 or 6 or 11 => Errno.ENETUNREACH,
            PortUnreachable => Errno.ECONNREFUSED,
            ProtocolUnreachable => Errno.ENOPROTOOPT,
            4 => Errno.EMSGSIZE,
            5 => Errno.EOPNOTSUPP,
            _ => Errno.EHOSTUNREACH,
        },
        IcmpType.TimeExceeded => Errno.EHOSTUNREACH,
        IcmpType.ParameterProblem => Errno.EPROTO,
        _ => Errno.Ok,
    };

    // Informational types are 0, 8, 13, 14, 15, 16, 17, 18; an unreadable message counts as an error.
    private static bool IsError(ReadOnlySpan<byte> icmp) =>
        icmp.Length < 1 || icmp[0] is not (0 or 8 or 13 or 14 or 15 or 16 or 17 or 18);
}
