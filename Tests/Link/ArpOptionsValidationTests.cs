using UserStack.Link;
using UserStack.Tests.Support;
using UserStack.Wire;

namespace UserStack.Tests.Link;

/// <summary>
/// ARP settings the cache cannot run with are refused when the stack is made (issue 7: a
/// Capacity of 0 crashed with NullReferenceException, a MaxPendingPerDestination of 0 with
/// "Queue empty", both on the first datagram to an unresolved neighbour).
/// </summary>
public class ArpOptionsValidationTests
{
    private static StackOptions With(ArpOptions arp) => Frames.Options() with { Arp = arp };

    [TestCase(nameof(ArpOptions.Capacity))]
    [TestCase(nameof(ArpOptions.MaxPendingBytesPerDestination))]
    [TestCase(nameof(ArpOptions.MaxRequests))]
    public void Zero_is_refused_with_the_setting_named(string setting)
    {
        var arp = setting switch
        {
            nameof(ArpOptions.Capacity) => new ArpOptions { Capacity = 0 },
            nameof(ArpOptions.MaxPendingBytesPerDestination) => new ArpOptions { MaxPendingBytesPerDestination = 0 },
            _ => new ArpOptions { MaxRequests = 0 },
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new StackUnderTest(With(arp)));
        Assert.That(e!.ParamName, Is.EqualTo(setting));
    }

    [Test]
    public void Non_positive_times_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StackUnderTest(With(new ArpOptions { EntryLifetime = TimeSpan.Zero })));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StackUnderTest(With(new ArpOptions { RequestInterval = TimeSpan.FromSeconds(-1) })));
    }

    [Test]
    public void Missing_option_records_are_refused()
    {
        Assert.Throws<ArgumentNullException>(() => new StackUnderTest(Frames.Options() with { Arp = null! }));
        Assert.Throws<ArgumentNullException>(() => new StackUnderTest(Frames.Options() with { Tcp = null! }));
    }

    [Test]
    public void The_smallest_cache_and_queue_work()
    {
        var s = new StackUnderTest(With(new ArpOptions { Capacity = 1, MaxPendingBytesPerDestination = 1 }));
        foreach (var last in new byte[] { 5, 6, 5, 7 })
        {
            s.Stack.Ipv4.PayloadBuffer[..4].Clear();
            Assert.DoesNotThrow(() => s.Stack.Ipv4.Send(Frames.StackIp, Ipv4Address.Parse($"10.0.0.{last}"), IpProtocol.Udp, 4, s.Now));
            Assert.DoesNotThrow(() => s.Stack.Ipv4.Send(Frames.StackIp, Ipv4Address.Parse($"10.0.0.{last}"), IpProtocol.Udp, 4, s.Now));
        }
        Assert.DoesNotThrow(() => s.Advance(TimeSpan.FromSeconds(10)));
    }
}
