using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace UserStack.Wire;

/// <summary>
/// The internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum.
/// The sum is independent of byte order (RFC 1071 2(B)), so we add native-order 32-bit words
/// into 64-bit lanes with SIMD and fold to 16 bits once at the end.
/// </summary>
public static class InternetChecksum
{
    /// <summary>The checksum of <paramref name="data"/>, ready to be written big-endian.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>True when data that includes its checksum field sums to all ones.</summary>
    public static bool IsValid(ReadOnlySpan<byte> data) => Finish(Add(0, data)) == 0;

    /// <summary>
    /// Adds <paramref name="data"/> to a running sum. Every chunk but the last must have even
    /// length, as the words of the checksummed text must line up.
    /// </summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        ref byte start = ref MemoryMarshal.GetReference(data);
        nuint length = (nuint)data.Length;
        nuint i = 0;

        if (Vector256.IsHardwareAccelerated && length >= 64)
        {
            var acc0 = Vector256<ulong>.Zero;
            var acc1 = Vector256<ulong>.Zero;
            for (; i + 64 <= length; i += 64)
            {
                var a = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i)).AsUInt32();
                var b = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i + 32)).AsUInt32();
                var (a0, a1) = Vector256.Widen(a);
                var (b0, b1) = Vector256.Widen(b);
                acc0 += a0 + b0;
                acc1 += a1 + b1;
            }
            sum = AddCarry(sum, Vector256.Sum(acc0 >> 32) + Vector256.Sum(acc1 >> 32));
            sum = AddCarry(sum, Vector256.Sum(acc0 & Vector256.Create(0xFFFF_FFFFUL)) + Vector256.Sum(acc1 & Vector256.Create(0xFFFF_FFFFUL)));
        }
        else if (Vector128.IsHardwareAccelerated && length >= 32)
        {
            var acc = Vector128<ulong>.Zero;
            for (; i + 16 <= length; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref Unsafe.Add(ref start, i)).AsUInt32());
                acc += lo + hi;
            }
            sum = AddCarry(sum, Vector128.Sum(acc >> 32));
            sum = AddCarry(sum, Vector128.Sum(acc & Vector128.Create(0xFFFF_FFFFUL)));
        }

        for (; i + 8 <= length; i += 8)
            sum = AddCarry(sum, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i)));
        if (i + 4 <= length) { sum = AddCarry(sum, Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, i))); i += 4; }
        if (i + 2 <= length) { sum = AddCarry(sum, Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref start, i))); i += 2; }
        // An odd final byte is the high byte of a big-endian word padded with zero.
        if (i < length)
        {
            byte last = Unsafe.Add(ref start, i);
            sum = AddCarry(sum, BitConverter.IsLittleEndian ? last : (ulong)last << 8);
        }
        return sum;
    }

    /// <summary>Adds a 16-bit big-endian word (a header field not present in a buffer).</summary>
    public static ulong AddWord(ulong sum, ushort word) =>
        AddCarry(sum, BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(word) : word);

    /// <summary>Adds the IPv4 pseudo-header of TCP and UDP (RFC 9293 3.1, RFC 768).</summary>
    public static ulong AddPseudoHeader(ulong sum, Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int length)
    {
        sum = AddWord(sum, (ushort)(source.Value >> 16));
        sum = AddWord(sum, (ushort)source.Value);
        sum = AddWord(sum, (ushort)(destination.Value >> 16));
        sum = AddWord(sum, (ushort)destination.Value);
        sum = AddWord(sum, (ushort)protocol);
        return AddWord(sum, (ushort)length);
    }

    /// <summary>Folds a running sum to 16 bits and complements it (big-endian value).</summary>
    public static ushort Finish(ulong sum)
    {
        // 2^16 ≡ 1 (mod 2^16 - 1): fold the halves until the carries are gone.
        sum = (sum >> 32) + (sum & 0xFFFF_FFFF);
        sum = (sum >> 32) + (sum & 0xFFFF_FFFF);
        sum = (sum >> 16) + (sum & 0xFFFF);
        sum = (sum >> 16) + (sum & 0xFFFF);
        sum = (sum >> 16) + (sum & 0xFFFF);
        ushort folded = (ushort)sum;
        if (BitConverter.IsLittleEndian) folded = BinaryPrimitives.ReverseEndianness(folded);
        return (ushort)~folded;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong AddCarry(ulong sum, ulong value)
    {
        ulong r = sum + value;
        return r + (r < value ? 1UL : 0UL);
    }
}
