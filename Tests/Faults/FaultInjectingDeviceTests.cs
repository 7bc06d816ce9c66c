using UserStack.Drivers.Faults;

namespace UserStack.Tests.Faults;

/// <summary>
/// The fault middleware around a fake device, on the real clock: counts, reproducibility, delay
/// that never blocks the sender, a bounded queue. Timing checks are one-sided (never early) or
/// generous orderings only.
/// </summary>
[NonParallelizable]
public class FaultInjectingDeviceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static (int Lost, int[] Delivered) SendThrough(string spec, int count)
    {
        var inner = new RecordingDevice();
        using var device = new FaultInjectingDevice(inner, LinkFaults.Parse(spec));
        device.Start(_ => { });
        for (int i = 0; i < count; i++) Assert.That(device.Send(RecordingDevice.Numbered(i)), Is.True);
        return ((int)device.Sent.Lost, inner.Sent.Select(s => RecordingDevice.NumberOf(s.Frame)).ToArray());
    }

    [Test]
    public void Loss_drops_about_the_asked_share_and_the_same_frames_for_the_same_seed()
    {
        var first = SendThrough("loss=1%,seed=21", 20_000);
        var again = SendThrough("loss=1%,seed=21", 20_000);
        var other = SendThrough("loss=1%,seed=22", 20_000);
        Assert.That(first.Lost, Is.InRange(140, 260));
        Assert.That(first.Delivered, Has.Length.EqualTo(20_000 - first.Lost));
        Assert.That(again.Delivered, Is.EqualTo(first.Delivered), "reproducible from the seed");
        Assert.That(other.Delivered, Is.Not.EqualTo(first.Delivered));
        Assert.That(first.Delivered, Is.Ordered);
    }

    [Test]
    public void The_device_follows_the_decisions_frame_by_frame()
    {
        var faults = LinkFaults.Parse("loss=5%,dup=5%,seed=23");
        var decisions = new FaultDecisions(faults, FaultDirection.Send);
        var expected = new List<int>();
        for (int i = 0; i < 2000; i++)
        {
            var fate = decisions.Next(TimeSpan.Zero, 64);
            if (!fate.Lost) expected.AddRange(Enumerable.Repeat(i, fate.Copies));
        }
        Assert.That(SendThrough(faults.ToString(), 2000).Delivered, Is.EqualTo(expected));
    }

    [Test]
    public void Duplicates_and_losses_add_up()
    {
        var inner = new RecordingDevice();
        using var device = new FaultInjectingDevice(inner, LinkFaults.Parse("loss=2%,dup=3%,corrupt=1%,seed=24"));
        device.Start(_ => { });
        for (int i = 0; i < 10_000; i++) device.Send(RecordingDevice.Numbered(i));
        var s = device.Sent;
        Assert.That(s.Frames, Is.EqualTo(10_000));
        Assert.That(s.Duplicated, Is.InRange(200, 400));
        Assert.That(s.Corrupted, Is.InRange(50, 150));
        Assert.That(inner.SentCount, Is.EqualTo(s.Frames - s.Lost + s.Duplicated));
        Assert.That(s.Delivered, Is.EqualTo(inner.SentCount));
        Assert.That(device.Received.Frames, Is.Zero, "nothing was received");
    }

    [Test]
    public void Delay_never_blocks_the_sender_and_frames_leave_no_earlier_than_their_delay_in_order()
    {
        var inner = new RecordingDevice();
        var delay = TimeSpan.FromMilliseconds(300);
        using var device = new FaultInjectingDevice(inner, LinkFaults.Parse("delay=300ms,jitter=20ms,seed=25"));
        device.Start(_ => { });
        var sentAt = new TimeSpan[200];
        for (int i = 0; i < sentAt.Length; i++)
        {
            sentAt[i] = inner.Clock.Elapsed;
            Assert.That(device.Send(RecordingDevice.Numbered(i)), Is.True);
        }
        int early = inner.SentCount;
        if (inner.Clock.Elapsed - sentAt[0] < delay)
            Assert.That(early, Is.Zero, "nothing leaves before its delay");
        Assert.That(inner.WaitForSent(200, Patience), Is.True, $"only {inner.SentCount} of 200 left within {Patience}");
        var sent = inner.Sent;
        Assert.That(sent.Select(s => RecordingDevice.NumberOf(s.Frame)), Is.EqualTo(Enumerable.Range(0, 200)), "jitter does not reorder");
        for (int i = 0; i < sent.Count; i++)
            Assert.That(sent[i].At - sentAt[i], Is.GreaterThanOrEqualTo(delay), $"frame {i} left early");
        Assert.That(device.Waiting, Is.Zero);
    }

    [Test]
    public void Reordering_lets_later_frames_pass_and_loses_none()
    {
        var inner = new RecordingDevice();
        using var device = new FaultInjectingDevice(inner, LinkFaults.Parse("reorder=10%,reorder-window=50ms,seed=26"));
        device.Start(_ => { });
        for (int i = 0; i < 500; i++) { device.Send(RecordingDevice.Numbered(i)); if (i % 50 == 0) Thread.Sleep(10); }
        Assert.That(inner.WaitForSent(500, Patience), Is.True);
        var order = inner.Sent.Select(s => RecordingDevice.NumberOf(s.Frame)).ToList();
        Assert.That(order.Order(), Is.EqualTo(Enumerable.Range(0, 500)), "every frame arrives once");
        Assert.That(order, Is.Not.Ordered, "some were overtaken");
        Assert.That(device.Sent.Reordered, Is.InRange(25, 80));
    }

    [Test]
    public void A_full_delay_queue_refuses_frames_and_counts_them()
    {
        var inner = new RecordingDevice();
        using var device = new FaultInjectingDevice(inner, LinkFaults.Parse("delay=2s,queue=10,seed=27"));
        device.Start(_ => { });
        var accepted = Enumerable.Range(0, 50).Select(i => device.Send(RecordingDevice.Numbered(i))).ToList();
        Assert.That(accepted.Take(10), Is.All.True);
        Assert.That(accepted.Skip(10), Is.All.False);
        Assert.That(device.Sent.Overflowed, Is.EqualTo(40));
        Assert.That(device.Waiting, Is.EqualTo(10));
    }

    [Test]
    public void Received_frames_are_faulted_too_and_reach_the_handler_from_the_delay_thread()
    {
        var inner = new RecordingDevice();
        using var device = new FaultInjectingDevice(inner, LinkFaults.Parse("loss=10%,delay=5ms,seed=28"));
        var got = new List<int>();
        var threads = new HashSet<int>();
        device.Start(frame => { lock (got) { got.Add(BitConverter.ToInt32(frame)); threads.Add(Environment.CurrentManagedThreadId); } });
        for (int i = 0; i < 1000; i++) inner.Receive(RecordingDevice.Numbered(i));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (device.Received.Delivered < 1000 - device.Received.Lost && clock.Elapsed < Patience) Thread.Sleep(5);
        lock (got)
        {
            Assert.That(got, Has.Count.EqualTo(1000 - device.Received.Lost));
            Assert.That(got, Is.Ordered);
            Assert.That(threads, Has.Count.EqualTo(1));
            Assert.That(threads, Does.Not.Contain(Environment.CurrentManagedThreadId));
        }
        Assert.That(device.Received.Lost, Is.InRange(60, 140));
        Assert.That(device.Sent.Frames, Is.Zero);
    }

    [Test]
    public void One_direction_only_leaves_the_other_untouched()
    {
        var inner = new RecordingDevice();
        using var device = new FaultInjectingDevice(inner, LinkFaults.Parse("loss=100%,direction=receive,seed=29"));
        int received = 0;
        device.Start(_ => received++);
        for (int i = 0; i < 100; i++) { device.Send(RecordingDevice.Numbered(i)); inner.Receive(RecordingDevice.Numbered(i)); }
        Assert.That(inner.SentCount, Is.EqualTo(100));
        Assert.That(received, Is.Zero);
        Assert.That(device.Received.Lost, Is.EqualTo(100));
    }

    [Test]
    public void Dispose_discards_waiting_frames_and_closes_the_inner_device()
    {
        var inner = new RecordingDevice();
        var device = new FaultInjectingDevice(inner, LinkFaults.Parse("delay=1s,seed=30"));
        device.Start(_ => { });
        for (int i = 0; i < 10; i++) device.Send(RecordingDevice.Numbered(i));
        device.Dispose();
        Assert.That(inner.Disposed, Is.True);
        Assert.That(device.Send(RecordingDevice.Numbered(11)), Is.False);
        Thread.Sleep(1200);
        Assert.That(inner.SentCount, Is.Zero);
    }
}
