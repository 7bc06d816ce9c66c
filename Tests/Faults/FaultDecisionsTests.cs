using UserStack.Drivers.Faults;

namespace UserStack.Tests.Faults;

/// <summary>The seeded fate of each frame: rates near the asked probabilities, reproducible, in order unless reordered.</summary>
public class FaultDecisionsTests
{
    private const int Frames = 100_000;

    private static List<FrameFate> Fates(LinkFaults faults, FaultDirection direction = FaultDirection.Send, int count = Frames)
    {
        var decisions = new FaultDecisions(faults, direction);
        // 10 µs between frames: about 100k frames per second.
        return Enumerable.Range(0, count).Select(i => decisions.Next(TimeSpan.FromTicks(i * 100L), 1514)).ToList();
    }

    [Test]
    public void One_percent_loss_loses_about_one_frame_in_a_hundred()
    {
        int lost = Fates(LinkFaults.Parse("loss=1%,seed=11")).Count(f => f.Lost);
        Assert.That(lost, Is.InRange(Frames * 0.008, Frames * 0.012));
    }

    [Test]
    public void Duplication_reordering_and_corruption_happen_at_their_rates()
    {
        var fates = Fates(LinkFaults.Parse("dup=2%,reorder=3%,corrupt=0.5%,seed=12"));
        Assert.That(fates.Count(f => f.Copies == 2), Is.InRange(Frames * 0.017, Frames * 0.023));
        Assert.That(fates.Count(f => f.Reordered), Is.InRange(Frames * 0.026, Frames * 0.034));
        Assert.That(fates.Count(f => f.CorruptBit >= 0), Is.InRange(Frames * 0.004, Frames * 0.006));
        Assert.That(fates.Where(f => f.CorruptBit >= 0).All(f => f.CorruptBit < 1514 * 8), Is.True);
        Assert.That(fates.Any(f => f.Lost), Is.False);
    }

    [Test]
    public void The_same_seed_gives_the_same_fates_and_another_seed_does_not()
    {
        var spec = "loss=3%,dup=1%,reorder=1%,delay=10ms,jitter=2ms,seed=";
        Assert.That(Fates(LinkFaults.Parse(spec + "5")), Is.EqualTo(Fates(LinkFaults.Parse(spec + "5"))));
        Assert.That(Fates(LinkFaults.Parse(spec + "6")), Is.Not.EqualTo(Fates(LinkFaults.Parse(spec + "5"))));
        Assert.That(Fates(LinkFaults.Parse(spec + "5"), FaultDirection.Receive), Is.Not.EqualTo(Fates(LinkFaults.Parse(spec + "5"))), "each direction draws its own");
    }

    [Test]
    public void The_same_seed_loses_the_same_frames_whatever_else_is_configured()
    {
        var plain = Fates(LinkFaults.Parse("loss=2%,seed=8")).Select(f => f.Lost);
        var busy = Fates(LinkFaults.Parse("loss=2%,dup=5%,reorder=5%,corrupt=1%,delay=10ms,jitter=3ms,seed=8")).Select(f => f.Lost);
        Assert.That(busy, Is.EqualTo(plain));
    }

    [Test]
    public void Delay_and_jitter_postpone_every_frame_but_keep_the_order()
    {
        var faults = LinkFaults.Parse("delay=10ms,jitter=4ms,seed=3");
        var fates = Fates(faults);
        for (int i = 0; i < fates.Count; i++)
        {
            var sent = TimeSpan.FromTicks(i * 100L);
            Assert.That(fates[i].Due, Is.GreaterThanOrEqualTo(sent + faults.Delay), $"frame {i}");
            if (i > 0) Assert.That(fates[i].Due, Is.GreaterThanOrEqualTo(fates[i - 1].Due), $"frame {i} overtook frame {i - 1}");
        }
        var spread = fates.Select((f, i) => (f.Due - TimeSpan.FromTicks(i * 100L)).TotalMilliseconds).ToList();
        Assert.That(spread.Max(), Is.LessThan(14.001));
        Assert.That(spread.Average(), Is.GreaterThan(10.5), "jitter adds delay on average");
    }

    [Test]
    public void Only_reordered_frames_are_overtaken()
    {
        var fates = Fates(LinkFaults.Parse("delay=1ms,reorder=1%,reorder-window=5ms,seed=4"));
        var inOrder = fates.Where(f => !f.Reordered).Select(f => f.Due).ToList();
        Assert.That(inOrder, Is.Ordered);
        int overtaken = fates.Select((f, i) => (f, i)).Count(x => x.f.Reordered && x.i + 1 < fates.Count && fates[x.i + 1].Due < x.f.Due);
        Assert.That(overtaken, Is.GreaterThan(fates.Count(f => f.Reordered) / 2), "most held-back frames are passed by the next one");
    }
}
