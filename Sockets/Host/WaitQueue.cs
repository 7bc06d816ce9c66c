using UserStack.Time;

namespace UserStack.Sockets.Host;

/// <summary>
/// Something waiting on a <see cref="WaitQueue"/>: a thread blocked in a socket call or an async
/// operation. <see cref="Notify"/> runs under the host's Gate; it must not re-enter the stack
/// (it sets an event or completes a value-task source whose continuation runs elsewhere).
/// </summary>
internal interface IWaitEntry
{
    void Notify();
}

/// <summary>
/// The wait queue of one socket (Linux's sk_wq, gVisor's waiter.Queue): the core's Signal for the
/// socket wakes the entries registered here and no other. Entries are one-shot: a wake-up removes
/// them, and a waiter that wants more registers again after it has looked at its socket. All
/// members run under the host's Gate.
/// </summary>
public sealed class WaitQueue
{
    private readonly StackHost host;
    private readonly List<IWaitEntry> entries = new(2);

    internal WaitQueue(StackHost host) => this.host = host;

    internal int Count => entries.Count;

    internal void Add(IWaitEntry entry) => entries.Add(entry);

    internal void Remove(IWaitEntry entry) => entries.Remove(entry);

    /// <summary>Under the Gate: wakes every entry of this queue (and the host's waiters for any change).</summary>
    public void WakeLocked()
    {
        WakeEntriesLocked();
        host.NoteSocketWakeLocked(this);
    }

    internal void WakeEntriesLocked()
    {
        // Newest first, each removed before it is told, so Notify may not disturb the walk.
        for (int i = entries.Count - 1; i >= 0; i--)
        {
            if (i >= entries.Count) continue;
            var entry = entries[i];
            entries.RemoveAt(i);
            entry.Notify();
        }
    }
}

/// <summary>
/// A thread's own waiting place, reused for every blocking call it makes (no allocation per wait):
/// registered on the queues of the sockets it waits for, then asleep on its own event with the
/// Gate released. <see cref="Woken"/> is what <see cref="StackHost.IsSettledWaiter"/> reads: set
/// by a wake-up, cleared when the thread registers again after rechecking.
/// </summary>
internal sealed class ThreadWaiter : IWaitEntry
{
    [ThreadStatic] private static ThreadWaiter? current;
    public static ThreadWaiter Current => current ??= new ThreadWaiter();

    private readonly ManualResetEventSlim signal = new(false);

    /// <summary>Under the Gate: a wake-up came since the thread went to sleep.</summary>
    public bool Woken { get; private set; }
    /// <summary>When the wait ends on the host's clock (virtual time wakes waiters past it).</summary>
    public Instant Deadline { get; private set; }

    public void Arm(Instant deadline)
    {
        Woken = false;
        Deadline = deadline;
        signal.Reset();
    }

    public void Notify()
    {
        Woken = true;
        signal.Set();
    }

    public void Sleep(int milliseconds) => signal.Wait(milliseconds);
}
