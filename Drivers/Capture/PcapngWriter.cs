using System.Buffers.Binary;
using System.Text;

namespace UserStack.Drivers.Capture;

/// <summary>
/// The few pcapng blocks an annotated capture needs (the pcapng draft, IETF opsawg): one Section
/// Header Block, one Interface Description Block (Ethernet, microsecond timestamps), and an
/// Enhanced Packet Block per frame with its direction (epb_flags) and a comment (opt_comment,
/// option code 1) that Wireshark shows as the packet comment. Little-endian, as the host writes it.
/// SharpPcap cannot do this: it writes through libpcap's pcap_dump, which knows only classic pcap.
/// </summary>
public static class PcapngWriter
{
    private const uint SectionHeader = 0x0A0D0D0A, InterfaceDescription = 1, EnhancedPacket = 6;
    private const ushort OptEnd = 0, OptComment = 1, EpbFlags = 2, ShbUserApplication = 4;
    private const ushort LinkTypeEthernet = 1;

    public static byte[] Header(string application)
    {
        var shbOptions = Option(ShbUserApplication, Encoding.UTF8.GetBytes(application)).Concat(EndOfOptions()).ToArray();
        var shb = Block(SectionHeader, body =>
        {
            Put32(body, 0x1A2B3C4D);        // byte-order magic
            Put16(body, 1); Put16(body, 0); // version 1.0
            Put64(body, -1);                // section length unknown
            body.AddRange(shbOptions);
        });
        var idb = Block(InterfaceDescription, body =>
        {
            Put16(body, LinkTypeEthernet);
            Put16(body, 0);
            Put32(body, 0);                 // no snap length limit
        });
        return [.. shb, .. idb];
    }

    /// <param name="outbound">true: sent by the stack (epb_flags direction 2), false: received (1).</param>
    public static byte[] Packet(ReadOnlySpan<byte> frame, long microseconds, bool outbound, string? comment)
    {
        var data = frame.ToArray();
        return Block(EnhancedPacket, body =>
        {
            Put32(body, 0);                                    // interface 0
            Put32(body, (uint)((ulong)microseconds >> 32));
            Put32(body, (uint)microseconds);
            Put32(body, (uint)data.Length);                    // captured
            Put32(body, (uint)data.Length);                    // on the wire
            body.AddRange(data);
            Pad(body);
            var flags = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(flags, outbound ? 2u : 1u);
            body.AddRange(Option(EpbFlags, flags));
            if (!string.IsNullOrEmpty(comment)) body.AddRange(Option(OptComment, Encoding.UTF8.GetBytes(comment)));
            body.AddRange(EndOfOptions());
        });
    }

    private static byte[] Block(uint type, Action<List<byte>> fill)
    {
        var body = new List<byte>(128);
        fill(body);
        uint total = (uint)(12 + body.Count);
        var block = new List<byte>((int)total);
        Put32(block, type); Put32(block, total);
        block.AddRange(body);
        Put32(block, total);
        return block.ToArray();
    }

    private static List<byte> Option(ushort code, byte[] value)
    {
        var o = new List<byte>(4 + value.Length + 3);
        Put16(o, code); Put16(o, (ushort)value.Length);
        o.AddRange(value);
        Pad(o);
        return o;
    }

    private static byte[] EndOfOptions() => [0, 0, 0, 0];
    private static void Pad(List<byte> b) { while (b.Count % 4 != 0) b.Add(0); }
    private static void Put16(List<byte> b, ushort v) { b.Add((byte)v); b.Add((byte)(v >> 8)); }
    private static void Put32(List<byte> b, uint v) { Put16(b, (ushort)v); Put16(b, (ushort)(v >> 16)); }
    private static void Put64(List<byte> b, long v) { Put32(b, (uint)v); Put32(b, (uint)((ulong)v >> 32)); }
}
