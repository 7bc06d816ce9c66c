using System.Buffers.Binary;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Icmp;

/// <summary>
/// RFC 1122 3.2.2.6: Record Route and Timestamp options of an echo request are updated to include
/// this host and returned in the echo reply's header, without truncation. As Linux (ip_options_compile
/// on input, then ip_options_echo), only those two are reflected; other options are not copied.
/// </summary>
public static class EchoOptions
{
    private const byte TimestampsOnly = 0, AddressAndTimestamp = 1, Prespecified = 3;

    /// <summary>Writes the reply's options to <paramref name="into"/> (40 bytes) and returns their length.</summary>
    public static int Reflect(ReadOnlySpan<byte> options, Span<byte> into, Ipv4Address us, Instant now)
    {
        int written = 0;
        for (int i = 0; i < options.Length;)
        {
            byte type = options[i];
            if (type == Ipv4Options.EndOfList) break;
            if (type == Ipv4Options.NoOperation) { i++; continue; }
            int length = options[i + 1]; // Ipv4Packet.TryRead checked the option structure
            var option = options.Slice(i, length);
            i += length;
            if (type is not (Ipv4Options.RecordRoute or Ipv4Options.Timestamp) || length < 4 || option[2] < 4) continue;
            var copy = into.Slice(written, length);
            option.CopyTo(copy);
            written += length;
            if (type == Ipv4Options.RecordRoute) Record(copy, us);
            else Stamp(copy, us, now);
        }
        return written;
    }

    /// <summary>RFC 791 "Record Route": our address in the next slot, if one is left.</summary>
    private static void Record(Span<byte> option, Ipv4Address us)
    {
        int pointer = option[2];
        if (pointer + 3 > option.Length) return; // full: left as it came
        us.Write(option[(pointer - 1)..]);
        option[2] = (byte)(pointer + 4);
    }

    /// <summary>RFC 791 "Internet Timestamp": a stamp (and our address, or only where our address is prespecified); overflow counted when full.</summary>
    private static void Stamp(Span<byte> option, Ipv4Address us, Instant now)
    {
        int pointer = option[2];
        int flag = option[3] & 0xF;
        int slot = flag == TimestampsOnly ? 4 : 8;
        if (pointer + slot - 1 > option.Length)
        {
            int overflow = option[3] >> 4;
            if (overflow < 15) option[3] = (byte)((overflow + 1) << 4 | flag);
            return;
        }
        var at = option[(pointer - 1)..];
        switch (flag)
        {
            case TimestampsOnly: WriteTime(at, now); break;
            case AddressAndTimestamp: us.Write(at); WriteTime(at[4..], now); break;
            case Prespecified when Ipv4Address.Read(at) == us: WriteTime(at[4..], now); break;
            default: return;
        }
        option[2] = (byte)(pointer + slot);
    }

    // RFC 791: a time that is not milliseconds since midnight UT has the high-order bit set; the
    // core has no wall clock, so it is the stack's own millisecond clock.
    private static void WriteTime(Span<byte> at, Instant now) =>
        BinaryPrimitives.WriteUInt32BigEndian(at, (uint)(now.Milliseconds & 0x7FFFFFFF) | 0x80000000);
}
