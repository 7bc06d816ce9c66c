using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using UserStack.Drill;
using UserStack.Drill.Language;
using UserStack.Sockets.Api;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Differential;

// `<` lines: the script's segments and ICMP errors, written to the kernel from the TAP.
internal sealed partial class KernelScriptRunner
{
    // ---- `<` lines ------------------------------------------------------------------------------

    private void Inject(TcpPacketEvent e)
    {
        if (e.Outer.Count > 0) throw new NotSupportedException($"line {e.Line}: {e.Outer[0].Kind} encapsulation");
        var (source, destination) = e.Ports is { } ports ? ((ushort)ports.Source, (ushort)ports.Destination) : (remotePort, localPort);
        byte[] segment;
        try { segment = numbers.BuildInbound(e, source, destination, KernelScene.RemoteIp, KernelScene.LocalIp); }
        catch (DrillFailure f)
        {
            // A TS ecr that names a `>` line Linux did not send: DrillRunner would fail the script here; the conversation cannot go on as written.
            Add(e, Aspect.Segment, "nothing to echo", $"cannot build the segment: {f.Message}");
            return;
        }
        Send(IpProtocol.Tcp, segment);
        log.AppendLine($"{Since(scene.Now):0.000} sent {Body(e)}");
    }

    /// <summary>An ICMP error quoting a segment the kernel sent, as DrillRunner builds it (RFC 792): the quoted seq counts from the kernel's ISN.</summary>
    private void InjectIcmp(IcmpPacketEvent e)
    {
        var (type, code) = (e.Type, e.Code) switch
        {
            ("unreachable" or "dest_unreachable", var c) => (IcmpType.DestinationUnreachable, c switch
            {
                "net_unreachable" => 0, "host_unreachable" => 1, "protocol_unreachable" => 2, "port_unreachable" => 3,
                "frag_needed" => 4, "source_route_failed" => 5,
                _ => throw new NotSupportedException($"line {e.Line}: ICMP unreachable code '{c}'"),
            }),
            ("time_exceeded", _) => (IcmpType.TimeExceeded, 0),
            var (t, c) => throw new NotSupportedException($"line {e.Line}: ICMP '{t} {c}'"),
        };
        var quote = e.Quote ?? new IcmpQuote("tcp", 0, 0, 0);
        var quoted = new byte[Ipv4Repr.HeaderLength + 8];
        new Ipv4Repr(KernelScene.LocalIp, KernelScene.RemoteIp, IpProtocol.Tcp, (int)quote.Length + 20).Write(quoted);
        BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(20), localPort);
        BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(22), remotePort);
        BinaryPrimitives.WriteUInt32BigEndian(quoted.AsSpan(24), numbers.LiveLocalIsn + quote.Start);
        var message = new byte[IcmpPacket.HeaderLength + quoted.Length];
        quoted.CopyTo(message, IcmpPacket.HeaderLength);
        new IcmpRepr(type, (byte)code, (uint)(e.Mtu ?? 0), quoted.Length).Write(message);
        Send(IpProtocol.Icmp, message);
        log.AppendLine($"{Since(scene.Now):0.000} sent {Body(e)}");
    }

    private ushort ipId = 1;

    private void Send(IpProtocol protocol, byte[] payload)
    {
        var ip = new Ipv4Repr(KernelScene.RemoteIp, KernelScene.LocalIp, protocol, payload.Length, 64, ipId++);
        var frame = new byte[Math.Max(EthernetRepr.HeaderLength + ip.TotalLength, 60)];
        new EthernetRepr(KernelScene.KernelMac, KernelScene.GatewayMac, EtherType.Ipv4).Write(frame);
        ip.Write(frame.AsSpan(EthernetRepr.HeaderLength));
        payload.CopyTo(frame, EthernetRepr.HeaderLength + Ipv4Repr.HeaderLength);
        scene.Send(frame);
        lastInjection = scene.Now;
    }
}
