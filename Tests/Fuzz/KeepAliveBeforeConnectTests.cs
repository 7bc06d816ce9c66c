using UserStack.Fuzz;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Fuzz;

/// <summary>
/// Found by the fuzzer (signature "a timer due at # is still pending after Poll", 5 actions):
/// SO_KEEPALIVE on a socket that is not connected arms KeepAliveAt = now + KeepAliveIdle on a
/// connection the layer does not poll (it is not live). When the deadline passes, Poll recomputes
/// the layer's bound from the live connections only and forgets it; a later connect() makes the
/// connection live with KeepAliveAt already in the past, below the layer's bound, so Poll(now)
/// returns early and CheckInvariants reports a due timer left pending. Linux starts the keepalive
/// timer only once the connection is established (tcp_set_keepalive is a no-op in CLOSED/LISTEN).
/// Fixed both ways: SetKeepAlive arms the timer only on an established connection (Established()
/// arms it when the handshake completes), and connect() notes the deadlines of a connection that
/// becomes live.
/// </summary>
public class KeepAliveBeforeConnectTests
{
    [Test]
    public void Keepalive_set_before_connect_leaves_no_due_timer_behind()
    {
        var s = new StackUnderTest();
        var c = s.Stack.Tcp.Open();
        c.SetKeepAlive(true, s.Now);
        s.Advance(TimeSpan.FromHours(3));
        Assert.That(s.Stack.Tcp.Connect(c, new Endpoint(Ipv4Address.Parse("10.0.0.1"), 5000), s.Now), Is.EqualTo(Errno.Ok));
        s.Stack.Poll(s.Now);
        Assert.That(s.Stack.Tcp.CheckInvariants(s.Now), Is.Null);
    }

    [Test]
    public void The_minimised_fuzz_input_does_not_crash()
    {
        // Listen on 80; a second socket fails to bind 80 and stays CLOSED; SO_KEEPALIVE on it; 3 hours; connect.
        var input = Convert.FromHexString("0042009803000000000FE403000000000FE4030B018000000D02030000000203010191DA6EBF");
        Assert.That(Finding.Crash(input), Is.Null, Minimizer.Describe(input));
    }
}
