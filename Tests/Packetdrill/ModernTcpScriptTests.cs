using UserStack.Drill;
using UserStack.Tcp;

namespace UserStack.Tests.Packetdrill;

/// <summary>
/// Rules that need a small receive buffer (4000 bytes instead of 256 KiB), run as inline scripts
/// with their own TcpOptions: each starts with the same passive open.
/// </summary>
public class ModernTcpScriptTests
{
    private static readonly TcpOptions SmallBuffer = new() { ReceiveBufferSize = 4000 };

    /// <summary>Listen, take a SYN, answer with a 4000-byte window, accept when the peer ACKs with <paramref name="peerWindow"/>.</summary>
    private static string Accepted(int peerWindow) => $"""
        0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
        +0    bind(3, ..., ...) = 0
        +0    listen(3, 1) = 0
        +0    < S 0:0(0) win 32792 <mss 1000>
        +0    > S. 0:0(0) ack 1 win 4000 <mss 1460>
        +.1   < . 1:1(0) ack 1 win {peerWindow}
        +0    accept(3, ..., ...) = 4

        """;

    /// <summary><paramref name="count"/> reads of 100 bytes, each returning 100.</summary>
    private static string Reads(int count) => string.Concat(Enumerable.Repeat("+0    read(4, ..., 100) = 100\n", count));

    private static void Run(string script)
    {
        var outcome = DrillRun.Run(script, new DrillSettings { Tcp = SmallBuffer });
        TestContext.Out.WriteLine(outcome.Log);
        Assert.That(outcome.Verdict, Is.EqualTo(Verdict.Pass), outcome.Message);
    }

    [Rfc(9293, "MUST-66")]
    [Test]
    public void Rfc9293_zero_window_still_processes_ack()
    {
        // RFC 9293 3.10.7.4 (first: with RCV.WND = 0 a segment is not acceptable for its text, "but
        // special allowance should be made to accept valid ACKs, URGs, and RSTs"): our 4000-byte
        // buffer is full; the peer's data at RCV.NXT also acknowledges our first 1000 bytes and
        // opens its window: the text is dropped and ACKed with win 0, the ACK frees the next 1000 bytes to go.
        Run(Accepted(1000) + """
            +0    write(4, ..., 2000) = 2000
            +0    > . 1:1001(1000) ack 1 win 4000
            +0    < . 1:1001(1000) ack 1 win 1000
            +0    > . 1001:1001(0) ack 1001 win 3000
            +0    < . 1001:2001(1000) ack 1 win 1000
            +0    > . 1001:1001(0) ack 2001 win 2000
            +0    < . 2001:3001(1000) ack 1 win 1000
            +0    > . 1001:1001(0) ack 3001 win 1000
            +0    < . 3001:4001(1000) ack 1 win 1000
            +0    > . 1001:1001(0) ack 4001 win 0
            +.05  < P. 4001:4101(100) ack 1001 win 1000
            +0    > . 1001:1001(0) ack 4001 win 0
            +0    > P. 1001:2001(1000) ack 4001 win 0
            +.05  < . 4001:4001(0) ack 2001 win 1000
            +0    read(4, ..., 5000) = 4000
            +0    > . 2001:2001(0) ack 4001 win 4000
            """);
    }

    [Rfc(9293, "MUST-39")]
    [Test]
    public void Rfc9293_receiver_sws_window_update_after_small_reads()
    {
        // RFC 9293 3.8.6.2.2: the receiver announces more window only when it can grow by
        // min(Eff.snd.MSS 1460, half the 4000-byte buffer) = 1460 bytes: reading a full buffer 100
        // bytes at a time sends a window update after the 15th read (1500 free) and, as that window
        // is still below half the buffer, another after the 30th; none after that.
        Run(Accepted(32792) + """
            +0    < . 1:1001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 1001 win 3000
            +0    < . 1001:2001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 2001 win 2000
            +0    < . 2001:3001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 3001 win 1000
            +0    < . 3001:4001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 4001 win 0

            """ + Reads(15) + """
            +0    > . 1:1(0) ack 4001 win 1500

            """ + Reads(15) + """
            +0    > . 1:1(0) ack 4001 win 3000

            """ + Reads(10) + """
            // 3000 bytes free but the edge (7001) moving right by only 1000: it stays, the window is 2000.
            +.1   < . 4001:5001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 5001 win 2000
            """);
    }

    [Rfc(9293, "MUST-39")]
    [Test]
    public void Receiver_sws_avoidance_announces_a_reopened_window_once_a_segment_fits()
    {
        // RFC 9293 3.8.6.2.2: the window shrinks as data waits unread (4000-byte buffer), a byte
        // into a closed window is refused with an ACK, and reading it all sends a window update.
        Run(Accepted(32792) + """
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
