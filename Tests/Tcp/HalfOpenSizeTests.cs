using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>
/// What a SYN-RECEIVED entry costs (issue 12: "SYN-RECEIVED entries small"). A listener's child that
/// sent its SYN,ACK is a SynReceivedRecord, as Linux's request sock (tcp_request_sock, about 300 B),
/// not a connection object: that was 1,215 B each (2026-11-27, before the records). The bound catches
/// a connection, a buffer or a table made per half-open child.
/// </summary>
public class HalfOpenSizeTests
{
    [Test]
    public void Two_thousand_half_open_children_are_records_of_under_512_bytes_each()
    {
        var s = SynFloodAllocationTests.ListeningOn80(backlog: 8192);
        var rng = new Random(1);
        var options = new TcpOptionsRepr(MaximumSegmentSize: 1460, WindowScale: 7, SackPermitted: true, Timestamps: (1u, 0u));
        foreach (var f in SynFloodAllocationTests.SynsFromRandomSources(rng, 500, options)) s.Receive(f); // tables at their size
        var syns = SynFloodAllocationTests.SynsFromRandomSources(rng, 2000, options);
        long before = GC.GetTotalMemory(true);
        foreach (var f in syns) s.Receive(f);
        long after = GC.GetTotalMemory(true);
        double each = (after - before) / 2000.0;
        TestContext.Out.WriteLine($"half-open: {s.Stack.Tcp.HalfOpenRecords.Count} records, {each:0} B each");
        GC.KeepAlive(syns);
        Assert.That(s.Stack.Tcp.HalfOpenRecords, Has.Count.EqualTo(2500), "every SYN made a SYN-RECEIVED entry (no cookies below the backlog)");
        Assert.That(s.Stack.Tcp.Connections, Is.Empty, "none of them is a connection object");
        Assert.That(each, Is.LessThan(512), "a record, not a connection (1,215 B) nor a buffer (16 KiB or more)");
        Assert.That(s.Stack.Tcp.CheckInvariants(s.Now), Is.Null);
    }
}
