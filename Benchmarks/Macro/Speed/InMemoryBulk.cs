using UserStack.Tools.Scene;
using System.Diagnostics;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>What the two in-memory stacks did in the measured part: throughput, time and heap per data segment.</summary>
public readonly record struct InMemoryResult(long Bytes, long DataSegments, long Acks, long AllocatedBytes, TimeSpan Elapsed)
{
    public double Gbps => Bytes * 8 / Elapsed.TotalSeconds / 1e9;
    public double NanosecondsPerSegment => Elapsed.TotalNanoseconds / Math.Max(DataSegments, 1);
    public double BytesPerSegment => AllocatedBytes / (double)Math.Max(DataSegments, 1);
    public string Note => $"{Bytes / 1048576.0:0} MiB, {DataSegments:N0} segments and {Acks:N0} ACKs in {Elapsed.TotalSeconds:0.00} s";
}

/// <summary>
/// A bulk TCP transfer between two stacks on one thread (one core) over <see cref="InMemoryPair"/>:
/// 16 KiB written per step, after a warm-up (slow start, buffers, tiered JIT); bytes allocated
/// on this thread are counted by the runtime. Bounded by time and by step count.
/// </summary>
public static class InMemoryBulk
{
    private const int MaxSteps = 10_000_000;

    public static InMemoryResult Measure(TimeSpan duration)
    {
        var pair = new InMemoryPair();
        var chunk = new byte[16384];
        Run(pair, chunk, TimeSpan.FromSeconds(Math.Min(1, duration.TotalSeconds)), 50_000); // warm-up
        long bytes = pair.Received, toB = pair.FramesToB, toA = pair.FramesToA;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var elapsed = Run(pair, chunk, duration, MaxSteps);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        return new InMemoryResult(pair.Received - bytes, pair.FramesToB - toB, pair.FramesToA - toA, allocated, elapsed);
    }

    private static TimeSpan Run(InMemoryPair pair, byte[] chunk, TimeSpan duration, int maxSteps)
    {
        long start = Stopwatch.GetTimestamp(); // not a Stopwatch object: the measured part allocates nothing of its own
        for (int i = 0; i < maxSteps; i++)
        {
            pair.SendAndStep(chunk);
            if ((i & 255) == 0 && Stopwatch.GetElapsedTime(start) >= duration) break;
        }
        return Stopwatch.GetElapsedTime(start);
    }
}
