using UserStack.Tools.Scene;
using BenchmarkDotNet.Attributes;
using UserStack.Benchmarks.Macro.Speed;

namespace UserStack.Benchmarks.Micro;

/// <summary>
/// One full-sized TCP data segment from stack A into stack B, B's application reading it, and the
/// ACK traffic it causes back into A (every second segment with delayed ACKs, RFC 1122 4.2.3.2),
/// between two stacks on the in-memory wire of reused buffers. Issue 12's goal is the Allocated
/// column: 0 B per segment.
/// </summary>
[MemoryDiagnoser]
public class TcpSegmentPathBenchmarks
{
    private InMemoryPair pair = null!;
    private byte[] segment = [];

    [GlobalSetup]
    public void Setup()
    {
        pair = new InMemoryPair();
        var chunk = new byte[16384];
        for (int i = 0; i < 20_000; i++) pair.SendAndStep(chunk); // slow start done, buffers rented, pools at their size
        for (int i = 0; i < 100; i++) pair.Step();                  // the window drained
        segment = new byte[pair.Client.SendMss];
    }

    [Benchmark]
    public long SegmentInAckOut()
    {
        pair.SendAndStep(segment);
        return pair.Received;
    }
}
