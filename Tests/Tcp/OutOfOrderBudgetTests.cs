using UserStack.Tcp;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>docs/defences.md: out-of-order data of all connections together stays under one stack-wide budget.</summary>
public class OutOfOrderBudgetTests
{
    [Test]
    public void Connections_share_one_budget_and_get_it_back_when_the_hole_fills_or_they_close()
    {
        var budget = new MemoryBudget(3000);
        var a = new Reassembler(maxSegments: 256, budget);
        var b = new Reassembler(maxSegments: 256, budget);
        Assert.That(a.Store(new SeqNumber(1000), new byte[2000]), Is.True);
        Assert.That(b.Store(new SeqNumber(5000), new byte[2000]), Is.False, "over the stack-wide budget");
        Assert.That(b.BudgetRefused, Is.True);
        Assert.That(b.Store(new SeqNumber(5000), new byte[1000]), Is.True, "what still fits is kept");
        Assert.That(budget.InUse, Is.EqualTo(3000));

        var next = new SeqNumber(1000);
        a.Drain(ref next, new ByteRing(4096), discard: false);
        Assert.That(budget.InUse, Is.EqualTo(1000), "delivered data gives its bytes back");
        b.Clear();
        Assert.That(budget.InUse, Is.Zero, "a closed connection gives everything back");
    }
}
