using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using UserStack.Wire;

namespace UserStack.Benchmarks.Micro;

/// <summary>The vectorized internet checksum beside the plain word-by-word definition (RFC 1071), same run.</summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class ChecksumBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new ThroughputColumn());
    }

    [Params(20, 64, 1500, 9000, 65536)]
    public int Size { get; set; }

    private byte[] data = [];

    [GlobalSetup]
    public void Setup()
    {
        data = new byte[Size];
        new Random(1071).NextBytes(data);
    }

    [Benchmark(Baseline = true, Description = "scalar reference")]
    public ushort Scalar()
    {
        uint sum = 0;
        var d = data.AsSpan();
        int i = 0;
        for (; i + 1 < d.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(d[i..]);
        if (i < d.Length) sum += (uint)d[i] << 8;
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    [Benchmark(Description = "InternetChecksum.Compute")]
    public ushort Vectorized() => InternetChecksum.Compute(data);
}
