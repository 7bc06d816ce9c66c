using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using UserStack.Sockets.Api;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;
using static UserStack.Sockets.Api.Linux;

namespace UserStack.Tests.Sockets;

/// <summary>
/// 1,000 echo connections between two hosted stacks, served and driven three ways at once:
/// blocking calls on dedicated threads, async calls, and poll(2) loops over non-blocking
/// descriptors (64 dedicated threads in all, plus the pool). Every byte comes back and is checked
/// by SHA-256; a lost wake-up or a deadlock shows as the overall timeout, never as a timing assert.
/// </summary>
[NonParallelizable]
public class SocketStressTests
{
    private const int Connections = 1000;
    private const ushort SocketPort = 7100, DescriptorPort = 7101;
    private const int BlockingServers = 26, BlockingClients = 28, PollServers = 4, PollClients = 4, Acceptors = 2; // 64 threads
    private static readonly TimeSpan Overall = TimeSpan.FromMinutes(4);

    private static byte[] Payload(int i)
    {
        var data = new byte[1024 + (i * 7919) % 24_000];
        new Random(i).NextBytes(data);
        return data;
    }

    [Test]
    public void Thousand_connections_from_64_threads_mixing_blocking_async_and_poll_lose_no_byte_and_no_wakeup()
    {
        using var pair = new HostedPair();
        var aFaces = new BsdSockets(pair.A);
        var bFaces = new BsdSockets(pair.B);
        var failures = new ConcurrentQueue<string>();
        int verified = 0;
        using var stop = new CancellationTokenSource();

        // ---- servers on B: port 7100 through UserSocket (async or blocking echo), 7101 through descriptors and poll
        using var listener = UserSocket.Tcp(pair.B);
        listener.Bind(new Endpoint(Ipv4Address.Any, SocketPort));
        listener.Listen(1024);
        int pollListener = bFaces.Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        Assert.That(bFaces.Bind(pollListener, new Endpoint(Ipv4Address.Any, DescriptorPort)), Is.Zero);
        Assert.That(bFaces.Listen(pollListener, 1024), Is.Zero);

        var blockingWork = new BlockingCollection<UserSocket>();
        var threads = new List<Thread>();
        void Start(string name, Action body) { var t = new Thread(() => { try { body(); } catch (Exception e) { if (!stop.IsCancellationRequested) failures.Enqueue($"{name}: {e}"); } }) { IsBackground = true, Name = name }; threads.Add(t); t.Start(); }

        int accepted = 0;
        var serverTasks = new ConcurrentBag<Task>();
        for (int k = 0; k < Acceptors; k++)
            Start($"acceptor{k}", () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    UserSocket s;
                    try { s = listener.AcceptAsync(stop.Token).AsTask().GetAwaiter().GetResult(); }
                    catch (OperationCanceledException) { return; }
                    if (Interlocked.Increment(ref accepted) % 2 == 0) blockingWork.Add(s);
                    else serverTasks.Add(EchoAsync(s, stop.Token));
                }
            });
        for (int k = 0; k < BlockingServers; k++)
            Start($"blocking-server{k}", () =>
            {
                foreach (var s in blockingWork.GetConsumingEnumerable(stop.Token))
                    using (s) EchoBlocking(s);
            });
        for (int k = 0; k < PollServers; k++) Start($"poll-server{k}", () => PollServer(bFaces, pollListener, stop.Token));

        // ---- clients on A: every connection i picks its port and its client style from i
        int next = -1;
        int Take() => Interlocked.Increment(ref next) is var i && i < Connections ? i : -1;
        void Check(int i, byte[] sent, byte[] back)
        {
            if (SHA256.HashData(sent).AsSpan().SequenceEqual(SHA256.HashData(back))) Interlocked.Increment(ref verified);
            else failures.Enqueue($"connection {i}: {back.Length} bytes back of {sent.Length}, content differs");
        }
        Endpoint Server(int i) => new(HostedPair.AddressB, i % 2 == 0 ? SocketPort : DescriptorPort);

        var asyncClients = new ConcurrentBag<Task>();
        for (int k = 0; k < BlockingClients; k++)
            Start($"blocking-client{k}", () =>
            {
                for (int i = Take(); i >= 0; i = Take())
                {
                    if (i % 3 == 1) { RunAsyncClient(i); continue; }
                    if (i % 3 == 2) { pollQueue.Add(i); continue; }
                    using var s = UserSocket.Tcp(pair.A);
                    s.Connect(Server(i));
                    var sent = Payload(i);
                    var back = new MemoryStream();
                    var buffer = new byte[8192];
                    int at = 0;
                    while (at < sent.Length)
                    {
                        int n = Math.Min(4096, sent.Length - at);
                        s.Send(sent.AsSpan(at, n));
                        at += n;
                        int r = s.Receive(buffer); // at least some echo arrives for what we sent
                        back.Write(buffer, 0, r);
                    }
                    s.Shutdown(SocketShutdown.Send);
                    for (int r; (r = s.Receive(buffer)) > 0;) back.Write(buffer, 0, r);
                    Check(i, sent, back.ToArray());
                }
                pollQueue.CompleteAddingOnce(ref clientsDone, BlockingClients);
            });
        void RunAsyncClient(int i) => asyncClients.Add(Task.Run(async () =>
        {
            using var s = UserSocket.Tcp(pair.A);
            await s.ConnectAsync(Server(i), stop.Token);
            var sent = Payload(i);
            var sending = Task.Run(async () => { await s.SendAsync(sent, stop.Token); s.Shutdown(SocketShutdown.Send); });
            var back = new MemoryStream();
            var buffer = new byte[8192];
            for (int r; (r = await s.ReceiveAsync(buffer, stop.Token)) > 0;) back.Write(buffer, 0, r);
            await sending;
            Check(i, sent, back.ToArray());
        }));
        for (int k = 0; k < PollClients; k++) Start($"poll-client{k}", () => PollClients_(aFaces, pollQueue, Server, Check, stop.Token));

        // ---- everything ends, or the run fails: no timing asserts, one generous limit
        var deadline = DateTime.UtcNow + Overall;
        while (Volatile.Read(ref verified) + failures.Count < Connections && DateTime.UtcNow < deadline && failures.IsEmpty) Thread.Sleep(50);
        bool finished = Volatile.Read(ref verified) == Connections;
        stop.Cancel();
        blockingWork.CompleteAdding();
        Assert.That(failures, Is.Empty);
        Assert.That(finished, Is.True, $"only {verified} of {Connections} connections finished within {Overall}: a deadlock or a lost wake-up");
        Assert.That(Task.WhenAll(asyncClients).Wait(TimeSpan.FromSeconds(30)), Is.True);
    }

    private readonly PollQueue pollQueue = new();
    private int clientsDone;

    /// <summary>Connections handed to the poll-loop clients; closed when every blocking client thread has taken its last.</summary>
    private sealed class PollQueue : BlockingCollection<int>
    {
        public void CompleteAddingOnce(ref int done, int of)
        {
            if (Interlocked.Increment(ref done) == of) CompleteAdding();
        }
    }

    private static async Task EchoAsync(UserSocket s, CancellationToken stop)
    {
        using (s)
        {
            var buffer = new byte[8192];
            for (int n; (n = await s.ReceiveAsync(buffer, stop)) > 0;) await s.SendAsync(buffer.AsMemory(0, n), stop);
            s.Shutdown(SocketShutdown.Send);
        }
    }

    private static void EchoBlocking(UserSocket s)
    {
        var buffer = new byte[8192];
        for (int n; (n = s.Receive(buffer)) > 0;) s.Send(buffer.AsSpan(0, n));
        s.Shutdown(SocketShutdown.Send);
    }

    /// <summary>One connection driven by a poll loop: what is still to send, what came back.</summary>
    private sealed class Flow(int fd, int id, byte[] sent)
    {
        public int Fd = fd, Id = id;
        public byte[] Sent = sent;
        public int SentAt;
        public bool WriteShut;
        public MemoryStream Back = new();
        public byte[] Pending = new byte[16384]; // server side: bytes read and not yet echoed
        public int PendingCount, PendingAt;
    }

    private static void PollServer(BsdSockets faces, int listenerFd, CancellationToken stop)
    {
        var flows = new List<Flow>();
        while (!stop.IsCancellationRequested)
        {
            var fds = new PollFd[flows.Count + 1];
            fds[0] = new PollFd(listenerFd, (short)POLLIN);
            for (int i = 0; i < flows.Count; i++)
                fds[i + 1] = new PollFd(flows[i].Fd, (short)(flows[i].PendingAt < flows[i].PendingCount ? POLLOUT : POLLIN));
            if (faces.Poll(fds, 200) < 0) throw new InvalidOperationException($"poll: {faces.Errno}");
            if (fds[0].Revents != 0)
                while (faces.Accept4(listenerFd, out _, SOCK_NONBLOCK) is var fd && fd >= 0) flows.Add(new Flow(fd, -1, []));
            for (int i = flows.Count - 1; i >= 0; i--)
            {
                var f = flows[i];
                if (fds.Length <= i + 1 || fds[i + 1].Revents == 0) continue;
                if (f.PendingAt < f.PendingCount)
                {
                    int w = faces.Send(f.Fd, f.Pending.AsSpan(f.PendingAt, f.PendingCount - f.PendingAt), MSG_NOSIGNAL);
                    if (w > 0) f.PendingAt += w;
                    else if (faces.Errno != Errno.EAGAIN) { faces.Close(f.Fd); flows.RemoveAt(i); continue; }
                    if (f.PendingAt < f.PendingCount) continue;
                    f.PendingAt = f.PendingCount = 0;
                }
                int r = faces.Recv(f.Fd, f.Pending, 0);
                if (r > 0) { f.PendingCount = r; f.PendingAt = 0; continue; }
                if (r < 0 && faces.Errno == Errno.EAGAIN) continue;
                faces.Shutdown(f.Fd, SHUT_WR); // end of stream: everything was echoed
                faces.Close(f.Fd);
                flows.RemoveAt(i);
            }
        }
    }

    private static void PollClients_(BsdSockets faces, BlockingCollection<int> queue, Func<int, Endpoint> server, Action<int, byte[], byte[]> check, CancellationToken stop)
    {
        var flows = new List<Flow>();
        bool more = true;
        var buffer = new byte[16384];
        while (!stop.IsCancellationRequested && (more || flows.Count > 0))
        {
            // Up to 16 connections at a time per loop.
            while (more && flows.Count < 16)
            {
                if (!queue.TryTake(out int id, flows.Count == 0 ? 100 : 0)) { more = !queue.IsCompleted; break; }
                int fd = faces.Socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
                int c = faces.Connect(fd, server(id));
                if (c != 0 && faces.Errno != Errno.EINPROGRESS) throw new InvalidOperationException($"connect: {faces.Errno}");
                flows.Add(new Flow(fd, id, Payload(id)));
            }
            if (flows.Count == 0) continue;
            var fds = new PollFd[flows.Count];
            for (int i = 0; i < flows.Count; i++)
                fds[i] = new PollFd(flows[i].Fd, (short)(POLLIN | (flows[i].WriteShut ? 0 : POLLOUT)));
            faces.Poll(fds, 200);
            for (int i = flows.Count - 1; i >= 0; i--)
            {
                var f = flows[i];
                short ev = fds[i].Revents;
                if (ev == 0) continue;
                if ((ev & POLLOUT) != 0 && !f.WriteShut)
                {
                    int w = faces.Send(f.Fd, f.Sent.AsSpan(f.SentAt), MSG_NOSIGNAL);
                    if (w > 0) f.SentAt += w;
                    if (f.SentAt == f.Sent.Length) { faces.Shutdown(f.Fd, SHUT_WR); f.WriteShut = true; }
                }
                if ((ev & (POLLIN | POLLHUP | POLLERR)) != 0)
                {
                    int r;
                    while ((r = faces.Recv(f.Fd, buffer, 0)) > 0) f.Back.Write(buffer, 0, r);
                    if (r == 0 || (r < 0 && faces.Errno != Errno.EAGAIN))
                    {
                        faces.Close(f.Fd);
                        flows.RemoveAt(i);
                        check(f.Id, f.Sent, f.Back.ToArray());
                    }
                }
            }
        }
    }
}
