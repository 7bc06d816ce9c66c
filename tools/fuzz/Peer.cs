using System.Buffers.Binary;
using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>
/// The simulated host at 10.0.0.1: it answers ARP, remembers each conversation's sequence numbers,
/// completes handshakes in both directions, acknowledges what the stack sends, and sends data,
/// FINs and RSTs; it also builds the arbitrary segments of <see cref="SegmentAction"/> around
/// those numbers, so that mutated fields land near the edges that matter.
/// </summary>
public sealed class Peer
{
    public const ushort FirstPeerPort = 40000;
    public static readonly ushort[] StackPorts = [80, 81];
    public static readonly ushort[] PeerListenPorts = [5000, 5001];
    private static readonly ushort[] Msses = [1460, 536, 48, 1, 65535, 9000, 100, 0];
    private static readonly byte[] Payload = new byte[65536];

    private readonly List<Conversation> conversations = new();
    private ushort nextPort = FirstPeerPort;
    private ushort ipId;

    public IReadOnlyList<Conversation> Conversations => conversations;
    /// <summary>The last frame the peer sent, for bit flips.</summary>
    public byte[]? LastFrame { get; private set; }

    static Peer()
    {
        for (int i = 0; i < Payload.Length; i++) Payload[i] = (byte)(i * 7 + 3);
    }

    private Conversation NewConversation(int selector)
    {
        var c = new Conversation(nextPort++, StackPorts[(selector >> 4) & 1], new SeqNumber(0x1000_0000u * (uint)(conversations.Count % 16) + 12345));
        conversations.Add(c);
        return c;
    }

    /// <summary>Index modulo (count + 1): the extra value is a fresh conversation towards a listening port.</summary>
    private Conversation Pick(byte selector) =>
        selector % (conversations.Count + 1) is var i && i < conversations.Count ? conversations[i] : NewConversation(selector);

    // ---- frames the stack sent -----------------------------------------------------------

    /// <summary>Learns from one frame the stack sent; returns a frame to deliver at once (an ARP reply), if any.</summary>
    public byte[]? Observe(ReadOnlySpan<byte> frame, out string? problem)
    {
        problem = null;
        if (!EthernetFrame.TryRead(frame, out var eth, out _)) { problem = "the stack sent a malformed Ethernet frame"; return null; }
        if (eth.EtherType == EtherType.Arp)
        {
            if (ArpPacket.TryRead(eth.Payload, out var arp, out _) && arp.Operation == ArpOperation.Request && arp.TargetProtocolAddress == FrameBuilder.PeerIp)
                return FrameBuilder.ArpReply(arp.SenderHardwareAddress, arp.SenderProtocolAddress);
            return null;
        }
        if (eth.EtherType != EtherType.Ipv4) return null;
        if (!Ipv4Packet.TryRead(eth.Payload, out var ip, out var why)) { problem = $"the stack sent a bad IPv4 packet ({why})"; return null; }
        if (ip.Protocol != IpProtocol.Tcp) return null;
        if (!TcpSegment.TryRead(ip.Payload, ip.Source, ip.Destination, out var seg, out why)) { problem = $"the stack sent a bad TCP segment ({why})"; return null; }
        ObserveTcp(seg);
        return null;
    }

    private void ObserveTcp(in TcpSegment seg)
    {
        var flags = seg.Flags;
        bool syn = (flags & TcpFlags.Syn) != 0, ack = (flags & TcpFlags.Ack) != 0, fin = (flags & TcpFlags.Fin) != 0;
        ushort peerPort = seg.DestinationPort, stackPort = seg.SourcePort;
        var c = conversations.Find(x => x.PeerPort == peerPort && x.StackPort == stackPort);
        if (c is null)
        {
            if (!syn || ack) return;
            c = new Conversation(seg.DestinationPort, seg.SourcePort, new SeqNumber(0x7000_0000u + seg.SourcePort));
            conversations.Add(c);
        }
        if ((flags & TcpFlags.Rst) != 0) { conversations.Remove(c); return; }
        var options = seg.Options;
        if (options.Timestamps is var (val, _)) c.TsRecent = val;
        int length = seg.Payload.Length + (syn ? 1 : 0) + (fin ? 1 : 0);
        if (syn)
        {
            c.StackIsn = seg.Sequence;
            c.ReceiveNext = seg.Sequence + 1;
            c.StackIsnKnown = true;
            c.SackPermitted = options.SackPermitted;
            if (ack) c.OwesAck = true;
            else c.StackSynUnanswered = true;
        }
        else if (c.StackIsnKnown && length > 0)
        {
            if (seg.Sequence <= c.ReceiveNext && c.ReceiveNext < seg.Sequence + length) c.ReceiveNext = seg.Sequence + length;
            c.OwesAck = true;
        }
        if (c.StackIsnKnown && seg.Sequence + length > c.StackHighest || c.StackHighest == default) c.StackHighest = seg.Sequence + length;
    }

    // ---- the peer's own moves ------------------------------------------------------------

    /// <summary>Everything a well-behaved peer owes: SYN-ACKs for the stack's SYNs and ACKs for what it sent.</summary>
    public IEnumerable<byte[]> Autopilot()
    {
        foreach (var c in conversations.ToArray())
            if (React(c) is { } frame) yield return frame;
    }

    public byte[]? Move(PeerAction a)
    {
        if (a.Move == PeerMove.Connect) return Connect(a.Amount);
        if (conversations.Count == 0) return null;
        var c = conversations[a.Conversation % conversations.Count];
        int n = a.Amount % 3000;
        switch (a.Move)
        {
            case PeerMove.React: return React(c);
            case PeerMove.Data: return Send(c, TcpFlags.Ack | TcpFlags.Psh, n);
            case PeerMove.Fin: return Send(c, TcpFlags.Ack | TcpFlags.Fin, 0);
            case PeerMove.DataFin: return Send(c, TcpFlags.Ack | TcpFlags.Fin | TcpFlags.Psh, n);
            case PeerMove.Rst:
                conversations.Remove(c);
                return Build(c, TcpFlags.Rst | TcpFlags.Ack, c.SendNext, c.ReceiveNext, 0, default);
            case PeerMove.ZeroWindow: return Build(c, TcpFlags.Ack, c.SendNext, c.ReceiveNext, 0, Timestamp(c), window: 0);
            default:
                // A duplicate ACK a little below what arrived, with a SACK block above it where SACK is on.
                var ack = c.ReceiveNext - (a.Amount % 4096);
                if (c.StackIsnKnown && ack <= c.StackIsn) ack = c.StackIsn + 1;
                var options = Timestamp(c);
                if (c.SackPermitted && c.StackHighest > ack + 1) options = options with { Sack = default(SackBlocks).With(new SackBlock(ack + 1 + a.Amount % 1000, c.StackHighest)) };
                return Build(c, TcpFlags.Ack, c.SendNext, ack, 0, options);
        }
    }

    private byte[]? React(Conversation c)
    {
        if (c.StackSynUnanswered && !c.SynSent)
        {
            c.StackSynUnanswered = false;
            c.OwesAck = false;
            c.SynSent = true;
            var options = new TcpOptionsRepr(1460, 7, c.SackPermitted, c.TsRecent is { } ts ? (c.TsClock, ts) : null);
            var frame = Build(c, TcpFlags.Syn | TcpFlags.Ack, c.Iss, c.ReceiveNext, 0, options);
            c.SendNext = c.Iss + 1;
            return frame;
        }
        if (!c.OwesAck && !c.StackSynUnanswered) return null;
        c.StackSynUnanswered = false;
        c.OwesAck = false;
        return Build(c, TcpFlags.Ack, c.SendNext, c.ReceiveNext, 0, Timestamp(c));
    }

    private byte[] Send(Conversation c, TcpFlags flags, int length)
    {
        length = Math.Min(length, 1460);
        var frame = Build(c, flags, c.SendNext, c.ReceiveNext, length, Timestamp(c));
        c.SendNext += length + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        if ((flags & TcpFlags.Fin) != 0) c.FinSent = true;
        c.OwesAck = false;
        return frame;
    }

    /// <summary>A SYN to a listening port; <paramref name="choice"/> picks the options it offers.</summary>
    private byte[] Connect(ushort choice)
    {
        var c = NewConversation(choice >> 7);
        var options = new TcpOptionsRepr(
            (choice & 1) == 0 ? Msses[(choice >> 8) & 7] : null,
            (choice & 2) != 0 ? (byte)((choice >> 4) & 15) : null,
            (choice & 4) != 0,
            (choice & 8) != 0 ? (c.TsClock, 0u) : null);
        c.SynSent = true;
        var frame = Build(c, TcpFlags.Syn, c.Iss, default, 0, options);
        c.SendNext = c.Iss + 1;
        return frame;
    }

    private TcpOptionsRepr Timestamp(Conversation c)
    {
        if (c.TsRecent is not { } recent) return default;
        c.TsClock += 10;
        return new TcpOptionsRepr(Timestamps: (c.TsClock, recent));
    }

    private byte[] Build(Conversation c, TcpFlags flags, SeqNumber seq, SeqNumber ack, int length, TcpOptionsRepr options, ushort window = 65535)
    {
        if ((flags & TcpFlags.Ack) == 0) ack = default;
        var repr = new TcpRepr(c.PeerPort, c.StackPort, seq, ack, flags, window, 0, options, length);
        return Remember(FrameBuilder.Tcp(repr, Payload));
    }

    private byte[] Remember(byte[] frame)
    {
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(FrameBuilder.IpOffset + 4), ++ipId);
        FrameBuilder.FixIpChecksum(frame);
        return LastFrame = frame;
    }

    // ---- arbitrary segments --------------------------------------------------------------

    /// <summary>The segment of a <see cref="SegmentAction"/>, numbered relative to its conversation.</summary>
    public byte[] Build(SegmentAction s)
    {
        var c = Pick(s.Conversation);
        var seq = (s.SeqMode % 5) switch
        {
            0 => c.SendNext,
            1 => c.SendNext + (int)(s.SeqDelta % 70000),
            2 => c.SendNext - (int)(s.SeqDelta % 70000),
            3 => c.Iss + (int)s.SeqDelta,
            _ => new SeqNumber(s.SeqDelta),
        };
        var ack = (s.AckMode % 5) switch
        {
            0 => c.ReceiveNext,
            1 => c.ReceiveNext + (int)(s.AckDelta % 70000),
            2 => c.ReceiveNext - (int)(s.AckDelta % 70000),
            3 => c.StackIsn + (int)s.AckDelta,
            _ => new SeqNumber(s.AckDelta),
        };
        var flags = s.Flags;
        var options = new TcpOptionsRepr(
            (s.OptionMask & 1) != 0 ? s.Mss : null,
            (s.OptionMask & 2) != 0 ? s.WindowScale : null,
            (s.OptionMask & 4) != 0,
            (s.OptionMask & 8) != 0 ? (c.TsClock + s.TsDelta, c.TsRecent ?? 0) : null);
        if ((s.OptionMask & 16) != 0)
        {
            var blocks = default(SackBlocks);
            var left = c.ReceiveNext + s.SackLeft;
            for (int i = 0; i < 1 + s.SackCount % 4 && options.Length + 4 + 8 * (blocks.Count + 1) <= TcpOptionsRepr.MaximumLength; i++)
            {
                blocks = blocks.With(new SackBlock(left, left + s.SackLength));
                left = left + s.SackLength + 1 + s.SackLeft % 3000;
            }
            options = options with { Sack = blocks };
        }
        int length = s.PayloadLength % 2048;
        var repr = new TcpRepr(c.PeerPort, c.StackPort, seq, ack, flags, s.Window, s.Urgent, options, length);
        var frame = FrameBuilder.Tcp(repr, Payload);
        if ((s.OptionMask & 64) != 0) frame = FrameBuilder.WithRawOptions(frame, s);
        if ((s.OptionMask & 32) != 0) frame[FrameBuilder.TcpOffset + 17] ^= 0x5A; // a bad checksum
        if (s.SeqMode % 5 == 0)
        {
            // In sequence: the peer's own sequence space moves on, as a real sender's would.
            if ((flags & TcpFlags.Syn) != 0) { c.SynSent = true; c.SendNext = seq + 1 + length + ((flags & TcpFlags.Fin) != 0 ? 1 : 0); }
            else c.SendNext = seq + length + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        }
        if ((flags & TcpFlags.Rst) != 0 && (s.OptionMask & 32) == 0 && s.SeqMode % 5 == 0) conversations.Remove(c);
        if ((flags & TcpFlags.Ack) != 0 && s.AckMode % 5 == 0) c.OwesAck = false;
        return Remember(frame);
    }

    /// <summary>An IPv4 frame around raw TCP bytes, with the ports of a conversation and both checksums fixed.</summary>
    public byte[] RawSegment(ReadOnlySpan<byte> bytes)
    {
        var segment = bytes.ToArray();
        if (segment.Length >= 4 && conversations.Count > 0 && segment[0] % 2 == 0)
        {
            var c = conversations[segment[1] % conversations.Count];
            BinaryPrimitives.WriteUInt16BigEndian(segment, c.PeerPort);
            BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), c.StackPort);
        }
        var frame = FrameBuilder.Ipv4(IpProtocol.Tcp, segment);
        FrameBuilder.FixTcpChecksum(frame);
        return Remember(frame);
    }
}
