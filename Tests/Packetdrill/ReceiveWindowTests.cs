using UserStack.Tcp;

namespace UserStack.Tests.Packetdrill;

/// <summary>Rules that need a small receive buffer, run as inline scripts with their own TcpOptions.</summary>
public class ReceiveWindowTests
{
    [Test]
    public void Receiver_sws_avoidance_announces_a_reopened_window_once_a_segment_fits()
    {
        // RFC 9293 3.8.6.2.2: the window shrinks as data waits unread (4000-byte buffer), a byte
        // into a closed window is refused with an ACK, and reading it all sends a window update.
        var runner = new ScriptRunner(new TcpOptions { ReceiveBufferSize = 4000 });
        runner.Run("""
            0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0    bind(3, ..., ...) = 0
            +0    listen(3, 1) = 0
            +0    < S 0:0(0) win 32792 <mss 1000>
            +0    > S. 0:0(0) ack 1 win 4000 <mss 1460>
            +.1   < . 1:1(0) ack 1 win 32792
            +0    accept(3, ..., ...) = 4
            +0    < . 1:1001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 1001 win 3000
            +0    < . 1001:2001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 2001 win 2000
            +0    < . 2001:3001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 3001 win 1000
            +0    < . 3001:4001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 4001 win 0
            +.1   < . 4001:4002(1) ack 1 win 32792
            +0    > . 1:1(0) ack 4001 win 0
            +0    read(4, ..., 4000) = 4000
            +0    > . 1:1(0) ack 4001 win 4000
            """);
    }
}
