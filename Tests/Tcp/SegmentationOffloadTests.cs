using System.Buffers.Binary;
using System.Security.Cryptography;
using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// TAP offloads seen from the core: with <see cref="NetworkInterface.SegmentationOffload"/> TCP hands
/// its device super-segments of whole MSS-sized pieces (TSO), which a device cuts as the kernel's GSO
/// does; a stack takes a super-segment as one segment (the kernel's GSO frames through a TAP); and a
/// checksum is skipped only for the frame its device vouched for.
/// </summary>
public class SegmentationOffloadTests
{
    private static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:0c:01"), MacB = MacAddress.Parse("02:00:00:00:0c:02");
    private static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.12.0.1"), AddressB = Ipv4Address.Parse("10.12.0.2");

    /// <summary>Two stacks; A's sink takes super-segments and either passes them whole or cuts them as a device would.</summary>
    private sealed class OffloadWire
    {
        private readonly Queue<(byte[] Frame, NetStack To)> inFlight = new();
        public Instant Now = Instant.FromMilliseconds(1000);
        public readonly List<(int Length, int SegmentSize)> SuperSegments = new();
        public readonly List<int> PiecesToB = new();
        public int FramesToA;
        public bool CutSuperSegments;
        public NetStack A = null!, B = null!;

        public OffloadWire()
        {
            A = new NetStack(new StackOptions { HardwareAddress = MacA, Address = new Ipv4Cidr(AddressA, 24), Secret = [1] }, new Sink(this, toB: true));
            B = new NetStack(new StackOptions { HardwareAddress = MacB, Address = new Ipv4Cidr(AddressB, 24), Secret = [2] }, new Sink(this, toB: false));
            A.Primary.SegmentationOffload = true;
            A.Start(Now);
            B.Start(Now);
        }

        private sealed class Sink(OffloadWire wire, bool toB) : IFrameSink
        {
            public void Transmit(ReadOnlySpan<byte> frame)
            {
                Assert.That(frame.Length, Is.LessThanOrEqualTo(EthernetFrame.HeaderLength + 1500), "an ordinary frame fits the MTU");
                Deliver(frame.ToArray());
            }

            public void Transmit(ReadOnlySpan<byte> frame, int segmentSize)
            {
                Assert.That(toB, Is.True, "only A's interface offloads");
                wire.SuperSegments.Add((frame.Length, segmentSize));
                if (!wire.CutSuperSegments) { Deliver(frame.ToArray()); return; }
                foreach (var piece in Cut(frame, segmentSize)) Deliver(piece);
            }

            private void Deliver(byte[] frame)
            {
                if (toB) wire.PiecesToB.Add(frame.Length);
                else wire.FramesToA++;
                wire.inFlight.Enqueue((frame, toB ? wire.B : wire.A));
            }
        }

        public void Step()
        {
            Now += TimeSpan.FromMicroseconds(100);
            for (int n = inFlight.Count; n > 0; n--)
            {
                var (frame, to) = inFlight.Dequeue();
                to.Receive(frame, Now);
            }
            A.Poll(Now);
            B.Poll(Now);
        }
    }

    /// <summary>
    /// What a device does with a TSO super-segment (Linux's tcp_gso_segment): the headers repeated on
    /// every piece, the sequence number advanced, IP length, identification and checksums redone, PSH
    /// and FIN only on the last piece.
    /// </summary>
    private static IEnumerable<byte[]> Cut(ReadOnlySpan<byte> frame, int segmentSize)
    {
        const int ip = EthernetFrame.HeaderLength;
        int ipHeader = (frame[ip] & 0x0F) * 4, tcp = ip + ipHeader, tcpHeader = (frame[tcp + 12] >> 4) * 4;
        int headers = tcp + tcpHeader, payload = frame.Length - headers;
        var pieces = new List<byte[]>();
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(frame[(tcp + 4)..]);
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(frame[(ip + 4)..]);
        Ipv4Address source = Ipv4Address.Read(frame[(ip + 12)..]), destination = Ipv4Address.Read(frame[(ip + 16)..]);
        for (int offset = 0, i = 0; offset < payload; offset += segmentSize, i++)
        {
            int length = Math.Min(segmentSize, payload - offset);
            var piece = new byte[headers + length];
            frame[..headers].CopyTo(piece);
            frame.Slice(headers + offset, length).CopyTo(piece.AsSpan(headers));
            BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(ip + 2), (ushort)(ipHeader + tcpHeader + length));
            BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(ip + 4), (ushort)(id + i));
            piece[ip + 10] = piece[ip + 11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(ip + 10), InternetChecksum.Compute(piece.AsSpan(ip, ipHeader)));
            BinaryPrimitives.WriteUInt32BigEndian(piece.AsSpan(tcp + 4), sequence + (uint)offset);
            if (offset + length < payload) piece[tcp + 13] &= unchecked((byte)~(byte)(TcpFlags.Psh | TcpFlags.Fin));
            piece[tcp + 16] = piece[tcp + 17] = 0;
            ulong sum = InternetChecksum.AddPseudoHeader(0, source, destination, IpProtocol.Tcp, tcpHeader + length);
            BinaryPrimitives.WriteUInt16BigEndian(piece.AsSpan(tcp + 16), InternetChecksum.Finish(InternetChecksum.Add(sum, piece.AsSpan(tcp))));
            pieces.Add(piece);
        }
        return pieces;
    }

    /// <summary>Connects A to a listener on B and moves <paramref name="bytes"/> from A to B; returns what B read.</summary>
    private static byte[] Transfer(OffloadWire wire, int bytes)
    {
        var listener = wire.B.Tcp.Open();
        wire.B.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 9));
        wire.B.Tcp.Listen(listener, 4, wire.Now);
        var client = wire.A.Tcp.Open();
        wire.A.Tcp.Connect(client, new Endpoint(AddressB, 9), wire.Now);
        TcpConnection? server = null;
        for (int i = 0; i < 100 && (server ??= listener.TakeAccepted()) is null; i++) wire.Step();
        Assert.That(server, Is.Not.Null, "connected");

        var data = RandomNumberGenerator.GetBytes(bytes);
        var received = new MemoryStream();
        var sink = new byte[65536];
        int sent = 0;
        for (int step = 0; step < 200_000 && received.Length < bytes; step++)
        {
            if (sent < bytes) sent += client.Send(data.AsSpan(sent, Math.Min(65536, bytes - sent)), wire.Now, out _);
            wire.Step();
            int n;
            while ((n = server!.Receive(sink, peek: false, wire.Now, out _)) > 0) received.Write(sink, 0, n);
        }
        Assert.That(received.ToArray(), Is.EqualTo(data), "every byte arrived, in order");
        return received.ToArray();
    }

    [Test]
    public void With_TSO_the_sender_hands_its_device_super_segments_of_whole_MSS_sized_pieces()
    {
        var wire = new OffloadWire { CutSuperSegments = true };
        Transfer(wire, 4 << 20);
        Assert.That(wire.SuperSegments, Is.Not.Empty, "super-segments were sent");
        int mss = wire.SuperSegments[0].SegmentSize;
        Assert.That(mss, Is.EqualTo(1448), "segment size: MSS 1460 less the 12-byte timestamp option");
        Assert.Multiple(() =>
        {
            foreach (var (length, size) in wire.SuperSegments)
            {
                Assert.That(size, Is.EqualTo(mss));
                Assert.That(length - 14, Is.LessThanOrEqualTo(65535), "one IPv4 datagram");
                Assert.That(length - 14 - 20 - 32, Is.GreaterThan(mss), "more than one segment's worth, or it would be an ordinary frame");
            }
            Assert.That(wire.SuperSegments.Max(s => s.Length - 14 - 20 - 32), Is.EqualTo(45 * 1448), "a full super-segment: 45 x 1448 bytes, as Linux");
            Assert.That(wire.PiecesToB.Max(), Is.LessThanOrEqualTo(14 + 1500), "the device's pieces fit the MTU");
            Assert.That(wire.B.Counters[DropReason.TcpBadChecksum], Is.Zero, "every piece's checksum holds");
        });
    }

    [Test]
    public void A_super_segment_whole_is_taken_as_one_segment_and_acknowledged_at_once()
    {
        var wire = new OffloadWire { CutSuperSegments = false }; // B sees what the kernel's GSO hands a TAP reader
        Transfer(wire, 4 << 20);
        Assert.That(wire.SuperSegments.Count, Is.GreaterThan(50));
        var tcpDrops = wire.B.Counters.NonZero().Where(c => c.Name.StartsWith("Dropped.Tcp")).Select(c => $"{c.Name}={c.Value}").ToList();
        Assert.That(tcpDrops, Is.Empty, "no segment dropped");
        // RFC 1122 4.2.3.2: an ACK for at least every second full-sized segment: one that carries two or more gets one at once.
        Assert.That(wire.FramesToA, Is.GreaterThanOrEqualTo(wire.SuperSegments.Count), "an ACK for every super-segment, none left for the delayed-ACK timer");
    }

    [Test]
    public void Without_TSO_on_the_interface_no_segment_exceeds_the_MSS()
    {
        var wire = new OffloadWire();
        wire.A.Primary.SegmentationOffload = false;
        Transfer(wire, 1 << 20);
        Assert.That(wire.SuperSegments, Is.Empty);
        Assert.That(wire.PiecesToB.Max(), Is.LessThanOrEqualTo(14 + 1500));
    }

    /// <summary>A UDP datagram from A's address to a socket on B whose checksum is wrong.</summary>
    private static byte[] UdpWithBadChecksum(ushort port)
    {
        var frame = new byte[14 + 20 + 8 + 4];
        new EthernetRepr(MacB, MacA, EtherType.Ipv4).Write(frame);
        new Ipv4Repr(AddressA, AddressB, IpProtocol.Udp, 12).Write(frame.AsSpan(14));
        new UdpRepr(4000, port, 4).Write(frame.AsSpan(34), AddressA, AddressB);
        frame[40] ^= 0x5A; // the checksum no longer matches
        return frame;
    }

    [Test]
    public void A_checksum_is_skipped_only_for_a_frame_its_device_vouched_for()
    {
        var wire = new OffloadWire();
        var socket = wire.B.Udp.Open();
        wire.B.Udp.Bind(socket, new Endpoint(Ipv4Address.Any, 5000));
        wire.B.Receive(wire.B.Primary, UdpWithBadChecksum(5000), wire.Now, checksumTrusted: false);
        Assert.That(wire.B.Counters[DropReason.UdpBadChecksum], Is.EqualTo(1), "unvouched: checked and dropped");
        wire.B.Receive(wire.B.Primary, UdpWithBadChecksum(5000), wire.Now, checksumTrusted: true);
        Assert.That(wire.B.Counters[Counter.UdpDelivered], Is.EqualTo(1), "vouched (NEEDS_CSUM: the sum was never done): delivered");
        wire.B.Receive(wire.B.Primary, UdpWithBadChecksum(5000), wire.Now);
        Assert.That(wire.B.Counters[DropReason.UdpBadChecksum], Is.EqualTo(2), "the mark lasts one frame");
    }

    [Test]
    public void A_reassembled_datagram_is_checked_even_when_its_last_fragment_was_vouched_for()
    {
        var wire = new OffloadWire();
        var socket = wire.B.Udp.Open();
        wire.B.Udp.Bind(socket, new Endpoint(Ipv4Address.Any, 5000));
        var whole = UdpWithBadChecksum(5000).AsSpan(34).ToArray(); // the 12-byte UDP datagram
        byte[] Fragment(int offset, int length, bool more)
        {
            var f = new byte[14 + 20 + length];
            new EthernetRepr(MacB, MacA, EtherType.Ipv4).Write(f);
            new Ipv4Repr(AddressA, AddressB, IpProtocol.Udp, length, Identification: 77, Flags: more ? Ipv4Flags.MoreFragments : Ipv4Flags.None, FragmentOffset: offset).Write(f.AsSpan(14));
            whole.AsSpan(offset, length).CopyTo(f.AsSpan(34));
            return f;
        }
        wire.B.Receive(wire.B.Primary, Fragment(0, 8, more: true), wire.Now, checksumTrusted: true);
        wire.B.Receive(wire.B.Primary, Fragment(8, 4, more: false), wire.Now, checksumTrusted: true);
        Assert.That(wire.B.Counters[Counter.Ipv4Reassembled], Is.EqualTo(1));
        Assert.That(wire.B.Counters[DropReason.UdpBadChecksum], Is.EqualTo(1), "a device vouches for frames, not for the datagram they complete");
    }

    [Test]
    public void A_trace_or_capture_copy_shows_the_checksum_an_offloaded_frame_was_meant_to_carry()
    {
        var frame = UdpWithBadChecksum(5000); // as the kernel hands it with NEEDS_CSUM: the field is not the checksum
        OffloadedChecksum.Complete(frame);
        Assert.That(UdpDatagram.TryRead(frame.AsSpan(34), AddressA, AddressB, out _, out var why), Is.True, why.ToString());
        var fragment = UdpWithBadChecksum(5000);
        fragment[14 + 6] = 0x20; // MF: a fragment carries no whole datagram, left alone
        var before = fragment.ToArray();
        OffloadedChecksum.Complete(fragment);
        Assert.That(fragment, Is.EqualTo(before));
    }
}
