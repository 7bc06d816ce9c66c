using UserStack.Tcp;

namespace UserStack.Tests.Packetdrill;

/// <summary>Rules of the rewritten TCP core that need non-default TcpOptions, run as inline scripts.</summary>
public class ModernTcpScriptTests
{
    private static void Run(TcpOptions options, string script)
    {
        var runner = new ScriptRunner(options);
        try { runner.Run(script); }
        catch (ScriptFailure f) { Assert.Fail(f.Message); }
        TestContext.Out.WriteLine(runner.Log);
    }

    [Test]
    public void Rfc9293_zero_window_still_processes_ack()
    {
        // RFC 9293 3.10.7.4 (first: with RCV.WND = 0 a segment is not acceptable for its text, "but
        // special allowance should be made to accept valid ACKs, URGs, and RSTs"): our 4000-byte
        // buffer is full; the peer's data at RCV.NXT also acknowledges our first 1000 bytes and
        // opens its window: the text is dropped and ACKed with win 0, the ACK frees the next 1000 bytes to go.
        Run(new TcpOptions { ReceiveBufferSize = 4000 }, """
            0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0    bind(3, ..., ...) = 0
            +0    listen(3, 1) = 0
            +0    < S 0:0(0) win 32792 <mss 1000>
            +0    > S. 0:0(0) ack 1 win 4000 <mss 1460>
            +.1   < . 1:1(0) ack 1 win 1000
            +0    accept(3, ..., ...) = 4
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

    [Test]
    public void Rfc9293_receiver_sws_window_update_after_small_reads()
    {
        // RFC 9293 3.8.6.2.2: the receiver announces more window only when it can grow by
        // min(Eff.snd.MSS 1460, half the 4000-byte buffer) = 1460 bytes: reading a full buffer 100
        // bytes at a time sends a window update after the 15th read (1500 free) and, as that window
        // is still below half the buffer, another after the 30th; none after that.
        Run(new TcpOptions { ReceiveBufferSize = 4000 }, """
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
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    > . 1:1(0) ack 4001 win 1500
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    > . 1:1(0) ack 4001 win 3000
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            +0    read(4, ..., 100) = 100
            // 3000 bytes free but the edge (7001) moving right by only 1000: it stays, the window is 2000.
            +.1   < . 4001:5001(1000) ack 1 win 32792
            +0    > . 1:1(0) ack 5001 win 2000
            """);
    }
}
