using UserStack.Sockets.Host;
using UserStack.Time;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

// select(2) and poll(2): readiness over many descriptors, waiting on the host's clock.
public sealed partial class BsdSockets
{
    /// <summary>
    /// select(): keeps in each list the descriptors that are ready, waiting up to
    /// <paramref name="timeout"/> on the host's clock (null forever, zero to poll); EBADF if one is
    /// not open. As Linux's fs/select.c, from the poll events: readable is POLLIN, POLLHUP or
    /// POLLERR; writable POLLOUT or POLLERR; the except set is POLLPRI (an urgent byte), not errors.
    /// Returns how many list entries are ready (a descriptor in two lists counts twice).
    /// </summary>
    public int Select(IList<int>? read, IList<int>? write, IList<int>? error, TimeSpan? timeout)
    {
        const int Readable = Linux.POLLIN | Linux.POLLRDNORM | Linux.POLLRDBAND | Linux.POLLHUP | Linux.POLLERR;
        const int Writable = Linux.POLLOUT | Linux.POLLWRNORM | Linux.POLLWRBAND | Linux.POLLERR;
        var all = (read ?? []).Concat(write ?? []).Concat(error ?? []).Distinct().ToList();
        var sockets = new Dictionary<int, UserSocket>();
        foreach (var fd in all)
        {
            if (!TryGet(fd, out var s)) return -1;
            sockets[fd] = s;
        }
        var deadline = Deadline(timeout);
        var queues = sockets.Values.Select(s => s.Waiters).Distinct().ToArray(); // a change of any of them wakes the select
        lock (host.Gate)
        {
            while (true)
            {
                var events = sockets.ToDictionary(p => p.Key, p => p.Value.PollEventsLocked());
                var r = read?.Where(fd => (events[fd] & Readable) != 0).ToList() ?? [];
                var w = write?.Where(fd => (events[fd] & Writable) != 0).ToList() ?? [];
                var x = error?.Where(fd => (events[fd] & Linux.POLLPRI) != 0).ToList() ?? [];
                int ready = r.Count + w.Count + x.Count;
                if (ready > 0 || !host.WaitLocked(queues, deadline))
                {
                    Replace(read, r); Replace(write, w); Replace(error, x);
                    return ready;
                }
            }
        }
    }

    /// <summary>A timeout as an instant on the host's clock: null waits forever, zero (or less) not at all.</summary>
    private Instant Deadline(TimeSpan? timeout) => timeout is not { } t ? Instant.MaxValue : t <= TimeSpan.Zero ? host.Now : host.DeadlineAfter(t);

    private static void Replace(IList<int>? list, List<int> ready)
    {
        if (list is null) return;
        list.Clear();
        foreach (var fd in ready) list.Add(fd);
    }

    /// <summary>
    /// poll(2): fills each <see cref="PollFd.Revents"/> with the events that hold, among those asked
    /// plus POLLERR and POLLHUP (always reported), and POLLNVAL for a descriptor that is not open; a
    /// negative descriptor is skipped (revents 0). Waits until one is ready or the timeout passes on
    /// the host's clock (-1 forever, 0 not at all). Returns how many descriptors have events.
    /// Readiness follows Linux's tcp_poll and datagram_poll (man 2 poll): POLLIN data, end of
    /// stream or a connection to accept; POLLOUT room to send once connected; POLLERR a pending
    /// error; POLLHUP both directions shut, or the connection gone (also a socket never connected);
    /// POLLRDHUP the peer's FIN.
    /// </summary>
    public int Poll(Span<PollFd> fds, int timeoutMilliseconds)
    {
        var sockets = new UserSocket?[fds.Length];
        lock (table)
        {
            for (int i = 0; i < fds.Length; i++)
                sockets[i] = fds[i].Fd >= 0 ? descriptors.GetValueOrDefault(fds[i].Fd)?.Socket : null;
        }
        var deadline = timeoutMilliseconds < 0 ? Instant.MaxValue : Deadline(TimeSpan.FromMilliseconds(timeoutMilliseconds));
        // The waiter goes on every polled socket's queue: a change of any one of them wakes it.
        var queues = new List<WaitQueue>(fds.Length);
        foreach (var socket in sockets)
            if (socket is not null && !queues.Contains(socket.Waiters)) queues.Add(socket.Waiters);
        var waitOn = queues.ToArray();
        lock (host.Gate)
        {
            while (true)
            {
                int ready = 0;
                for (int i = 0; i < fds.Length; i++)
                {
                    int events = 0;
                    if (fds[i].Fd >= 0)
                    {
                        events = sockets[i] is { } s ? s.PollEventsLocked() : Linux.POLLNVAL;
                        events &= (ushort)fds[i].Events | Linux.POLLERR | Linux.POLLHUP | Linux.POLLNVAL;
                    }
                    fds[i].Revents = (short)events;
                    if (events != 0) ready++;
                }
                if (ready > 0 || !host.WaitLocked(waitOn, deadline)) return ready;
            }
        }
    }
}
