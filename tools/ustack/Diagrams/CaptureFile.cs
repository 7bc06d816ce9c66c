using System.Buffers.Binary;
using System.Text;

namespace UserStack.Tools.Diagrams;

/// <summary>One frame of a capture file: its time (microseconds since the epoch), bytes and packet comment (pcapng only).</summary>
public readonly record struct CapturedFrame(long Microseconds, byte[] Bytes, string? Comment);

/// <summary>
/// Reads the frames of a capture file: pcapng (Section Header, Interface Description, Enhanced and
/// Simple Packet Blocks; the opt_comment option, code 1, as <see cref="CapturedFrame.Comment"/>) or
/// classic pcap (microsecond or nanosecond, either byte order). Ethernet link type only.
/// SharpPcap's reader goes through libpcap, which hands over no packet comments: hence this reader.
/// A damaged file is a <see cref="FormatException"/> saying where.
/// </summary>
public static class CaptureFile
{
    private const uint Shb = 0x0A0D0D0A, Idb = 1, Spb = 3, Epb = 6;

    public static List<CapturedFrame> Read(string path) => Read(File.ReadAllBytes(path));

    public static List<CapturedFrame> Read(byte[] file)
    {
        if (file.Length < 24) throw new FormatException("not a capture: shorter than any pcap or pcapng header");
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        return magic switch
        {
            Shb => ReadPcapng(file),
            0xA1B2C3D4 or 0xA1B23C4D or 0xD4C3B2A1 or 0x4D3CB2A1 => ReadPcap(file, magic),
            _ => throw new FormatException($"not a capture: magic 0x{magic:x8} is neither pcapng nor pcap"),
        };
    }

    private static List<CapturedFrame> ReadPcap(byte[] file, uint magic)
    {
        bool big = magic is 0xD4C3B2A1 or 0x4D3CB2A1, nanos = magic is 0xA1B23C4D or 0x4D3CB2A1;
        uint U32(int at) => big ? BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
        if (U32(20) != 1) throw new FormatException($"pcap link type {U32(20)} is not Ethernet (1)");
        var frames = new List<CapturedFrame>();
        for (int at = 24; at + 16 <= file.Length;)
        {
            long seconds = U32(at), fraction = U32(at + 4);
            int captured = (int)U32(at + 8);
            if (captured < 0 || at + 16 + captured > file.Length) throw new FormatException($"pcap record at byte {at} runs past the end of the file");
            frames.Add(new(seconds * 1_000_000 + (nanos ? fraction / 1000 : fraction), file.AsSpan(at + 16, captured).ToArray(), null));
            at += 16 + captured;
        }
        return frames;
    }

    private static List<CapturedFrame> ReadPcapng(byte[] file)
    {
        var frames = new List<CapturedFrame>();
        var resolution = new List<long>(); // ticks per second of each interface of the current section
        bool big = false;
        uint U32(int at) => big ? BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
        ushort U16(int at) => big ? BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at));
        for (int at = 0; at + 12 <= file.Length;)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
            if (type == Shb)
            {
                big = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)) != 0x1A2B3C4D;
                resolution.Clear();
            }
            int length = (int)U32(at + 4);
            if (length < 12 || length % 4 != 0 || at + length > file.Length) throw new FormatException($"pcapng block at byte {at} has a bad length {length}");
            int body = at + 8, end = at + length - 4;
            switch (type)
            {
                case Idb:
                    if (U16(body) != 1) throw new FormatException($"pcapng interface {resolution.Count} has link type {U16(body)}, not Ethernet (1)");
                    resolution.Add(Resolution(file, body + 8, end, U16));
                    break;
                case Epb:
                {
                    int iface = (int)U32(body);
                    long ticks = ((long)U32(body + 4) << 32) | U32(body + 8);
                    int captured = (int)U32(body + 12);
                    if (captured < 0 || body + 20 + captured > end) throw new FormatException($"pcapng packet at byte {at} runs past its block");
                    long perSecond = iface < resolution.Count ? resolution[iface] : 1_000_000;
                    long micros = perSecond == 1_000_000 ? ticks : (long)(ticks * (1_000_000.0 / perSecond));
                    string? comment = Comment(file, body + 20 + (captured + 3) / 4 * 4, end, U16);
                    frames.Add(new(micros, file.AsSpan(body + 20, captured).ToArray(), comment));
                    break;
                }
                case Spb:
                {
                    int captured = Math.Min((int)U32(body), end - body - 4);
                    frames.Add(new(0, file.AsSpan(body + 4, Math.Max(0, captured)).ToArray(), null));
                    break;
                }
            }
            at += length;
        }
        return frames;
    }

    /// <summary>if_tsresol (option 9): 10^-n or 2^-n seconds; microseconds when absent.</summary>
    private static long Resolution(byte[] file, int at, int end, Func<int, ushort> u16)
    {
        for (; at + 4 <= end;)
        {
            ushort code = u16(at), len = u16(at + 2);
            if (code == 0) break;
            if (code == 9 && len >= 1)
            {
                byte r = file[at + 4];
                return (r & 0x80) != 0 ? 1L << Math.Min(62, r & 0x7F) : (long)Math.Pow(10, Math.Min(18, (int)r));
            }
            at += 4 + (len + 3) / 4 * 4;
        }
        return 1_000_000;
    }

    private static string? Comment(byte[] file, int at, int end, Func<int, ushort> u16)
    {
        for (; at + 4 <= end;)
        {
            ushort code = u16(at), len = u16(at + 2);
            if (code == 0 || at + 4 + len > end) break;
            if (code == 1) return Encoding.UTF8.GetString(file, at + 4, len);
            at += 4 + (len + 3) / 4 * 4;
        }
        return null;
    }
}
