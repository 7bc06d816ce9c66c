extern alias differential;
using differential::UserStack.Differential;
using UserStack.Diagnostics;
using UserStack.Drill;
using UserStack.Sockets.Api;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;
using UserStack.Transport;
using UserStack.Wire;
using static UserStack.Sockets.Api.Linux;

namespace UserStack.Tests.Sockets;

/// <summary>
/// The datagram behaviours a TCP script cannot show, as one table of steps played twice: on the
/// Linux kernel's sockets (raw libc calls, KernelSockets) on 127.0.0.1 in a network namespace of
/// our own, and on UserStack's BsdSockets between two in-memory stacks. Each step's answer
/// (result, errno, and the values handed back) must be the same. man 7 udp, man 2 recv, man 2 ioctl.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class UdpAgainstLinuxTests
{
    private const ushort ReceiverPort = 9000, SenderPort = 9001, ClosedPort = 9;

    /// <summary>One side: the sender's and the receiver's calls (one stack or two) and their addresses.</summary>
    private sealed class Side(ISocketCalls sender, ISocketCalls receiver, Ipv4Address senderAddress, Ipv4Address receiverAddress, Action<int>? awaitDelivered = null)
    {
        /// <summary>
        /// Waits until the receiver's stack has delivered this many datagrams in all: Linux's loopback
        /// queues a datagram inside sendto, our in-memory link delivers on its own thread.
        /// </summary>
        public string AwaitDelivered(int count) { awaitDelivered?.Invoke(count); return "queued"; }
        public ISocketCalls Sender => sender;
        public ISocketCalls Receiver => receiver;
        public Endpoint To => new(receiverAddress, ReceiverPort);
        public Endpoint From => new(senderAddress, SenderPort);
        public Endpoint Closed => new(receiverAddress, ClosedPort);
        public int S, R;

        public string Answer(ISocketCalls on, int result, string? values = null) =>
            (result < 0 ? $"-1 {on.Errno}" : result.ToString()) + (values is null ? "" : $" {values}");
    }

    private static string Poll(ISocketCalls on, Side side, int fd, short events)
    {
        var fds = new[] { new PollFd(fd, events) };
        return side.Answer(on, on.Poll(fds, 2000), $"revents=0x{fds[0].Revents:x}");
    }

    private static string FionRead(ISocketCalls on, Side side, int fd)
    {
        int value = 0;
        return side.Answer(on, on.Ioctl(fd, FIONREAD, ref value), $"[{value}]");
    }

    /// <summary>The steps, each with the man page line it shows.</summary>
    private static readonly (string Step, Func<Side, string> Run)[] Steps =
    [
        ("socket(SOCK_DGRAM) receiver", s => (s.R = s.Receiver.Socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)) >= 0 ? "fd" : s.Answer(s.Receiver, s.R)),
        ("socket(SOCK_DGRAM) sender", s => (s.S = s.Sender.Socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)) >= 0 ? "fd" : s.Answer(s.Sender, s.S)),
        ("bind receiver", s => s.Answer(s.Receiver, s.Receiver.Bind(s.R, s.To))),
        ("bind sender", s => s.Answer(s.Sender, s.Sender.Bind(s.S, s.From))),
        ("FIONREAD with nothing queued is 0 (man 7 udp)", s => FionRead(s.Receiver, s, s.R)),
        ("recv MSG_DONTWAIT with nothing queued: EAGAIN", s => s.Answer(s.Receiver, s.Receiver.RecvFrom(s.R, new byte[10], MSG_DONTWAIT))),
        ("sendto 300 bytes", s => s.Answer(s.Sender, s.Sender.SendTo(s.S, new byte[300], 0, s.To))),
        ("sendto 5 bytes", s => s.Answer(s.Sender, s.Sender.SendTo(s.S, new byte[5], 0, s.To))),
        ("both datagrams are queued at the receiver", s => s.AwaitDelivered(2)),
        ("poll POLLIN on the receiver (waits for the datagrams)", s => Poll(s.Receiver, s, s.R, POLLIN)),
        ("poll POLLIN|POLLOUT on the receiver", s => Poll(s.Receiver, s, s.R, (short)(POLLIN | POLLOUT))),
        ("FIONREAD is the size of the next datagram (man 7 udp)", s => FionRead(s.Receiver, s, s.R)),
        ("recv MSG_PEEK 10 of 300: 10, nothing consumed", s => s.Answer(s.Receiver, s.Receiver.RecvFrom(s.R, new byte[10], MSG_PEEK))),
        ("recvfrom 5 with MSG_TRUNC returns the datagram's real length (man 7 udp)", s => s.Answer(s.Receiver, s.Receiver.RecvFrom(s.R, new byte[5], MSG_TRUNC))),
        ("FIONREAD: the next datagram", s => FionRead(s.Receiver, s, s.R)),
        ("recvmsg 2 of 5: msg_flags MSG_TRUNC (man 2 recvmsg)", s =>
        {
            var m = new MessageHeader { Buffers = [new ArraySegment<byte>(new byte[2])] };
            int n = s.Receiver.RecvMsg(s.R, m, 0);
            return s.Answer(s.Receiver, n, $"msg_flags=0x{m.MessageFlags:x} from={m.Name?.Port}");
        }),
        ("recv when empty again: EAGAIN", s => s.Answer(s.Receiver, s.Receiver.RecvFrom(s.R, new byte[10], MSG_DONTWAIT))),
        ("connect the sender to the receiver", s => s.Answer(s.Sender, s.Sender.Connect(s.S, s.To))),
        ("send without an address once connected", s => s.Answer(s.Sender, s.Sender.SendTo(s.S, new byte[6], 0, null))),
        ("poll the receiver", s => Poll(s.Receiver, s, s.R, POLLIN)),
        ("recv 100: the 6-byte datagram", s => s.Answer(s.Receiver, s.Receiver.RecvFrom(s.R, new byte[100], 0))),
        ("sendto with an address once connected: sent there (udp_sendmsg uses the address given)", s => s.Answer(s.Sender, s.Sender.SendTo(s.S, new byte[3], 0, s.To))),
        ("poll the receiver again", s => Poll(s.Receiver, s, s.R, POLLIN)),
        ("recv 100: the 3-byte datagram", s => s.Answer(s.Receiver, s.Receiver.RecvFrom(s.R, new byte[100], 0))),
        ("recv again: EAGAIN", s => s.Answer(s.Receiver, s.Receiver.RecvFrom(s.R, new byte[100], MSG_DONTWAIT))),
        ("shutdown an unconnected UDP socket: ENOTCONN (man 2 shutdown)", s => s.Answer(s.Receiver, s.Receiver.Shutdown(s.R, SHUT_RDWR))),
        ("connect the sender to a closed port", s => s.Answer(s.Sender, s.Sender.Connect(s.S, s.Closed))),
        ("send to the closed port", s => s.Answer(s.Sender, s.Sender.SendTo(s.S, new byte[1], 0, null))),
        ("poll: the port unreachable is a pending error (POLLERR)", s => Poll(s.Sender, s, s.S, POLLIN)),
        ("recv: ECONNREFUSED after the ICMP port unreachable (man 7 udp)", s => s.Answer(s.Sender, s.Sender.RecvFrom(s.S, new byte[10], MSG_DONTWAIT))),
        ("recv again: the error was reported once, EAGAIN", s => s.Answer(s.Sender, s.Sender.RecvFrom(s.S, new byte[10], MSG_DONTWAIT))),
        ("close", s => s.Answer(s.Sender, s.Sender.Close(s.S))),
        ("close again: EBADF", s => s.Answer(s.Sender, s.Sender.Close(s.S))),
    ];

    private static List<string> Play(Side side) => Steps.Select(step => step.Run(side)).ToList();

    [Test]
    public void Datagram_calls_answer_as_linux_does()
    {
        Root.Require();
        List<string> linux;
        using (var ns = NetworkNamespace.Create($"usudp-{Environment.ProcessId}"))
            linux = ns.RunInside(() =>
            {
                var kernel = new KernelSockets();
                var loopback = Ipv4Address.Parse("127.0.0.1");
                var side = new Side(kernel, kernel, loopback, loopback);
                try { return Play(side); }
                finally { kernel.Close(side.R); kernel.Close(side.S); }
            });

        List<string> ours;
        using (var pair = new HostedPair())
        {
            var side = new Side(new UserStackCalls(new BsdSockets(pair.A)), new UserStackCalls(new BsdSockets(pair.B)), HostedPair.AddressA, HostedPair.AddressB,
                count => SpinWait.SpinUntil(() => { lock (pair.B.Gate) return pair.B.Stack.Counters[Counter.UdpDelivered] >= count; }, 2000));
            ours = Play(side);
        }

        var rows = Steps.Select((s, i) => $"{(linux[i] == ours[i] ? "  " : "≠ ")}{s.Step}: Linux {linux[i]}, UserStack {ours[i]}").ToList();
        TestContext.Out.WriteLine(string.Join("\n", rows));
        Assert.That(rows.Where(r => r.StartsWith('≠')), Is.Empty, "every step answers as Linux's");
    }
}
