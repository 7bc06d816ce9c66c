using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Ip;

/// <summary>A transport above IPv4 (ICMP, UDP, TCP, raw): gets every checked datagram of its protocol that is for us.</summary>
public interface IIpProtocolHandler
{
    void Receive(in Ipv4Packet packet, Instant now);
}
