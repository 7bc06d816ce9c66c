using UserStack.Tools.Scene;

namespace UserStack.Tests.Tcp;

/// <summary>
/// A bulk transfer between two stacks on a wire that reuses its frame buffers (<see cref="InMemoryPair"/>)
/// costs no heap per segment once it runs (issue 12's goal: 0 B per segment on both paths in steady
/// state). Bytes are counted by the runtime on this thread: a count, not a timing.
/// </summary>
public class DataPathAllocationTests
{
    [Test]
    public void A_bulk_transfer_allocates_nothing_per_segment_in_steady_state()
    {
        var pair = new InMemoryPair();
        var chunk = new byte[16384];
        void Run(int steps)
        {
            for (int i = 0; i < steps; i++) pair.SendAndStep(chunk);
        }
        Run(20_000); // slow start done, buffers rented, tables and pools at their size
        long framesBefore = pair.FramesToA + pair.FramesToB, receivedBefore = pair.Received;
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(20_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long frames = pair.FramesToA + pair.FramesToB - framesBefore;
        long received = pair.Received - receivedBefore;

        TestContext.Out.WriteLine($"{received / 1048576.0:0} MiB in {frames} frames, {allocated} B allocated");
        Assert.That(received, Is.GreaterThan(100L * 1024 * 1024), "the transfer ran");
        Assert.That(allocated, Is.Zero, $"{allocated / (double)frames:0.00} B per frame over {frames} frames");
    }
}
