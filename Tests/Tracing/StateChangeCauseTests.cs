using UserStack.Diagnostics;
using UserStack.Tcp;
using UserStack.Transport;

namespace UserStack.Tests.Tracing;

/// <summary>Each arc of RFC 9293's state diagram is explained by the rule that takes it (3.3.2, 3.10).</summary>
public class StateChangeCauseTests
{
    [TestCase(TcpState.Listen)]
    [TestCase(TcpState.SynSent)]
    public void Closing_before_a_connection_exists_deletes_the_tcb_without_a_fin(TcpState from)
    {
        // RFC 9293 3.10.4, CLOSE in LISTEN or SYN-SENT: delete the TCB, enter CLOSED; there is nothing to FIN.
        var cause = StateTransitions.CauseOf(from, TcpState.Closed, Errno.Ok, aborted: false);
        Assert.That(cause, Is.EqualTo(StateChangeCause.ClosedUnsynchronized));
        Assert.That(StateChangeCauses.Of(cause).Text, Does.Not.Contain("FIN queued"));
        Assert.That(StateChangeCauses.Of(cause).Rule, Is.EqualTo("RFC 9293 §3.10.4"));
    }

    [TestCase(TcpState.Established, TcpState.FinWait1)]
    [TestCase(TcpState.CloseWait, TcpState.LastAck)]
    public void Closing_a_connection_queues_a_fin(TcpState from, TcpState to)
    {
        var cause = StateTransitions.CauseOf(from, to, Errno.Ok, aborted: false);
        Assert.That(StateChangeCauses.Of(cause).Text, Does.Contain("FIN queued"));
    }

    [Test]
    public void Every_cause_but_unspecified_has_a_text_and_a_rule()
    {
        foreach (var cause in Enum.GetValues<StateChangeCause>().Where(c => c != StateChangeCause.Unspecified))
        {
            var (text, rule) = StateChangeCauses.Of(cause);
            Assert.That(text, Is.Not.Empty, cause.ToString());
            Assert.That(rule, Does.StartWith("RFC ").Or.StartWith("Linux "), cause.ToString());
        }
    }
}
