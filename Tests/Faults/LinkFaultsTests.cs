using UserStack.Drivers.Faults;

namespace UserStack.Tests.Faults;

/// <summary>The fault spec of `ustack up --faults`: what it reads, and how it refuses what it cannot.</summary>
public class LinkFaultsTests
{
    [Test]
    public void The_documented_example_reads_as_written()
    {
        var f = LinkFaults.Parse("loss=1%,delay=10ms,jitter=1ms,dup=0.1%,reorder=0.5%,seed=42");
        Assert.That(f.Loss, Is.EqualTo(0.01).Within(1e-12));
        Assert.That(f.Delay, Is.EqualTo(TimeSpan.FromMilliseconds(10)));
        Assert.That(f.Jitter, Is.EqualTo(TimeSpan.FromMilliseconds(1)));
        Assert.That(f.Duplicate, Is.EqualTo(0.001).Within(1e-12));
        Assert.That(f.Reorder, Is.EqualTo(0.005).Within(1e-12));
        Assert.That(f.Seed, Is.EqualTo(42));
        Assert.That(f.Corrupt, Is.Zero);
        Assert.That(f.Direction, Is.EqualTo(FaultDirection.Both));
        Assert.That(f.QueueLimit, Is.EqualTo(LinkFaults.DefaultQueueLimit));
    }

    [TestCase("loss=0.02", 0.02)]
    [TestCase("loss=2%", 0.02)]
    [TestCase("drop=2%", 0.02)]
    [TestCase(" loss = 2 % ", 0.02)]
    [TestCase("loss=100%", 1.0)]
    [TestCase("loss=0%", 0.0)]
    public void Probabilities_are_percentages_or_fractions(string spec, double expected) =>
        Assert.That(LinkFaults.Parse(spec).Loss, Is.EqualTo(expected).Within(1e-12));

    [TestCase("delay=250us", 0.25)]
    [TestCase("delay=250µs", 0.25)]
    [TestCase("delay=1.5ms", 1.5)]
    [TestCase("delay=2s", 2000.0)]
    public void Durations_take_us_ms_or_s(string spec, double milliseconds) =>
        Assert.That(LinkFaults.Parse(spec).Delay.TotalMilliseconds, Is.EqualTo(milliseconds).Within(1e-9));

    [Test]
    public void Every_key_and_its_aliases_are_read()
    {
        var f = LinkFaults.Parse("duplicate=1%,corrupt=0.5%,window=20ms,dir=rx,queue=77,seed=-3");
        Assert.That(f.Duplicate, Is.EqualTo(0.01).Within(1e-12));
        Assert.That(f.Corrupt, Is.EqualTo(0.005).Within(1e-12));
        Assert.That(f.ReorderWindow, Is.EqualTo(TimeSpan.FromMilliseconds(20)));
        Assert.That(f.Direction, Is.EqualTo(FaultDirection.Receive));
        Assert.That(f.QueueLimit, Is.EqualTo(77));
        Assert.That(f.Seed, Is.EqualTo(-3));
        Assert.That(LinkFaults.Parse("direction=send").Direction, Is.EqualTo(FaultDirection.Send));
        Assert.That(LinkFaults.Parse("none"), Is.EqualTo(LinkFaults.None));
    }

    [TestCase("loss=1%,delay=10ms,jitter=1ms,dup=0.1%,reorder=0.5%,seed=42")]
    [TestCase("corrupt=0.25%,reorder-window=7.5ms,direction=receive,queue=12,seed=9")]
    [TestCase("loss=3%,delay=0.2ms,seed=1")]
    public void The_spec_printed_reads_back_to_the_same_faults(string spec)
    {
        var f = LinkFaults.Parse(spec);
        Assert.That(LinkFaults.Parse(f.ToString()), Is.EqualTo(f));
        Assert.That(f.ToString(), Is.EqualTo(spec));
    }

    [TestCase("", "empty fault spec")]
    [TestCase("loss", "'loss' is not KEY=VALUE")]
    [TestCase("loss=", "'loss=' is not KEY=VALUE")]
    [TestCase("=1%", "'=1%' is not KEY=VALUE")]
    [TestCase("lost=1%", "unknown fault 'lost'")]
    [TestCase("loss=1%,loss=2%", "'loss' is given twice")]
    [TestCase("loss=1%,", "'' is not KEY=VALUE")]
    [TestCase("loss=abc", "loss=abc: expected a percentage")]
    [TestCase("loss=-1%", "loss=-1%: expected a percentage")]
    [TestCase("loss=150%", "cannot exceed 100%")]
    [TestCase("loss=5", "did you mean loss=5%?")]
    [TestCase("loss=1", "a fraction must be below 1 (did you mean loss=1%?")]
    [TestCase("delay=10", "delay=10: give a unit")]
    [TestCase("delay=-5ms", "delay=-5ms: expected a non-negative duration")]
    [TestCase("jitter=2min", "jitter=2min: give a unit")]
    [TestCase("delay=61s", "at most 60 s")]
    [TestCase("seed=x", "seed=x: expected a whole number")]
    [TestCase("direction=up", "expected both, receive (rx) or send (tx)")]
    [TestCase("queue=0", "queue=0: expected a positive number")]
    public void Malformed_specs_say_what_is_wrong(string spec, string message)
    {
        var e = Assert.Throws<FormatException>(() => LinkFaults.Parse(spec));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void An_unknown_key_lists_the_known_ones() =>
        Assert.That(Assert.Throws<FormatException>(() => LinkFaults.Parse("jiter=1ms"))!.Message,
            Does.Contain("loss, delay, jitter, dup, reorder, corrupt, reorder-window, direction, queue, seed"));
}
