using System.Buffers.Binary;
using UserStack.Wire;

namespace UserStack.Tests.Wire;

public class InternetChecksumTests
{
    /// <summary>The definition, word by word (RFC 1071 4.1), as the referee.</summary>
    internal static ushort Scalar(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (uint)data[i] << 8;
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    [Test]
    public void Rfc1071_numerical_example_sums_to_ddf2()
    {
        // RFC 1071 3: bytes 00 01 f2 03 f4 f5 f6 f7 have the one's complement sum ddf2.
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.That(InternetChecksum.Compute(data), Is.EqualTo(unchecked((ushort)~0xddf2)));
    }

    [Test]
    public void Vectorized_sum_equals_the_definition_for_every_length_and_alignment()
    {
        var random = new Random(1071);
        var buffer = new byte[3000];
        random.NextBytes(buffer);
        for (int length = 0; length <= 1600; length++)
            for (int offset = 0; offset < 3; offset++)
            {
                var data = buffer.AsSpan(offset, length);
                Assert.That(InternetChecksum.Compute(data), Is.EqualTo(Scalar(data)), $"length {length} offset {offset}");
            }
    }

    [Test]
    public void All_ones_data_and_large_buffers_fold_correctly()
    {
        var ones = Enumerable.Repeat((byte)0xFF, 70000).ToArray();
        Assert.That(InternetChecksum.Compute(ones), Is.EqualTo(Scalar(ones)));
        var random = new byte[65535];
        new Random(7).NextBytes(random);
        Assert.That(InternetChecksum.Compute(random), Is.EqualTo(Scalar(random)));
    }

    [Test]
    public void Data_with_its_checksum_in_place_verifies_and_one_flipped_bit_does_not()
    {
        var data = Frames(64);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(10), InternetChecksum.Compute(data));
        Assert.That(InternetChecksum.IsValid(data), Is.True);
        data[33] ^= 0x10;
        Assert.That(InternetChecksum.IsValid(data), Is.False);
    }

    [Test]
    public void Chunks_added_in_pieces_equal_one_pass()
    {
        var data = Frames(1000);
        ulong sum = InternetChecksum.Add(0, data.AsSpan(0, 100));
        sum = InternetChecksum.Add(sum, data.AsSpan(100, 402));
        sum = InternetChecksum.Add(sum, data.AsSpan(502));
        Assert.That(InternetChecksum.Finish(sum), Is.EqualTo(Scalar(data)));
    }

    private static byte[] Frames(int n)
    {
        var d = new byte[n];
        new Random(n).NextBytes(d);
        d[10] = d[11] = 0;
        return d;
    }
}
