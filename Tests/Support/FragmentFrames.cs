using UserStack.Wire;

namespace UserStack.Tests.Support;

/// <summary>Fragments of one datagram from the peer, built by hand (RFC 791 3.2), for reassembly tests.</summary>
public static class FragmentFrames
{
    /// <summary>One fragment frame carrying <paramref name="payload"/>[first..end) at offset <paramref name="first"/>.</summary>
    public static byte[] Fragment(IpProtocol protocol, ReadOnlySpan<byte> payload, int first, int end, bool more, ushort id = 7, Ipv4Address? source = null, Ipv4Address? destination = null)
    {
        var header = new Ipv4Repr(source ?? Frames.PeerIp, destination ?? Frames.StackIp, protocol, end - first, 64, id, more ? Ipv4Flags.MoreFragments : Ipv4Flags.None, first);
        var frame = new byte[EthernetFrame.HeaderLength + header.TotalLength];
        new EthernetRepr(Frames.StackMac, Frames.PeerMac, EtherType.Ipv4).Write(frame);
        header.Write(frame.AsSpan(EthernetFrame.HeaderLength));
        payload[first..end].CopyTo(frame.AsSpan(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength));
        return frame;
    }

    /// <summary>The whole payload cut into pieces of <paramref name="size"/> bytes (a multiple of 8), in order.</summary>
    public static List<byte[]> Split(IpProtocol protocol, byte[] payload, int size, ushort id = 7, Ipv4Address? source = null)
    {
        var frames = new List<byte[]>();
        for (int first = 0; first < payload.Length; first += size)
        {
            int end = Math.Min(first + size, payload.Length);
            frames.Add(Fragment(protocol, payload, first, end, end < payload.Length, id, source));
        }
        return frames;
    }

    /// <summary>A UDP datagram from the peer's port 5000 (checksum filled in), as the payload of an IPv4 datagram.</summary>
    public static byte[] Udp(ushort destinationPort, byte[] data)
    {
        var udp = new byte[UdpDatagram.HeaderLength + data.Length];
        data.CopyTo(udp, UdpDatagram.HeaderLength);
        new UdpRepr(5000, destinationPort, data.Length).Write(udp, Frames.PeerIp, Frames.StackIp);
        return udp;
    }

    /// <summary>The IPv4 payload of a frame (our parser, after it checked the header).</summary>
    public static byte[] IpPayload(byte[] frame)
    {
        if (!Ipv4Packet.TryRead(frame.AsSpan(EthernetFrame.HeaderLength), out var ip, out var why)) throw new InvalidOperationException($"not an IPv4 frame: {why}");
        return ip.Payload.ToArray();
    }
}
