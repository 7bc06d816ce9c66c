using System.Threading.Tasks.Sources;

namespace UserStack.Sockets.Host;

/// <summary>
/// A reusable awaitable wait on a socket's <see cref="WaitQueue"/> for async calls: one per socket
/// and direction, reset per operation, built on <see cref="ManualResetValueTaskSourceCore{TResult}"/>
/// so an await allocates nothing (no TaskCompletionSource, no closure). A wake-up completes it;
/// cancellation (through a CancellationToken registration with a static callback) takes it off
/// the queue and completes it with <see cref="OperationCanceledException"/>. Continuations run on
/// the thread pool, never under the host's Gate.
/// </summary>
internal sealed class AsyncWaiter : IValueTaskSource, IWaitEntry
{
    private static readonly Action<object?, CancellationToken> Cancelled = static (state, token) => ((AsyncWaiter)state!).Cancel(token);

    private readonly object gate;
    private ManualResetValueTaskSourceCore<bool> core = new() { RunContinuationsAsynchronously = true };
    private WaitQueue? queue;                 // where it is registered while pending (under the Gate)
    private CancellationTokenRegistration registration;
    private int busy;                         // 1 from the start of a wait until its result is taken
    private bool inline;                      // completed on the device reader that woke it (StackHost.Inline.cs)

    public AsyncWaiter(object gate) => this.gate = gate;

    /// <summary>Takes this waiter for one wait; false when another operation holds it (the caller then uses a fresh one).</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref busy, 1, 0) == 0;

    /// <summary>Under the Gate: registers on <paramref name="on"/> and returns the wait, completed by the next wake-up of that queue.</summary>
    public ValueTask WaitLocked(WaitQueue on, CancellationToken cancel, bool completeInline = false)
    {
        core.Reset();
        core.RunContinuationsAsynchronously = true;
        inline = completeInline;
        queue = on;
        on.Add(this);
        var wait = new ValueTask(this, core.Version);
        if (cancel.CanBeCanceled) registration = cancel.UnsafeRegister(Cancelled, this); // may run Cancel at once (re-enters the Gate: same thread)
        return wait;
    }

    /// <summary>Under the Gate, from the queue (which already removed it).</summary>
    public void Notify()
    {
        if (queue is null) return;
        queue = null;
        if (inline && StackHost.TryDefer(this)) return; // the reader completes it once it let go of the Gate
        core.SetResult(true);
    }

    /// <summary>Outside the Gate, on the reader that woke it: the continuation runs here and now.</summary>
    internal void CompleteInline()
    {
        core.RunContinuationsAsynchronously = false;
        core.SetResult(true);
    }

    private void Cancel(CancellationToken token)
    {
        lock (gate)
        {
            if (queue is null) return; // woken first
            queue.Remove(this);
            queue = null;
        }
        core.SetException(new OperationCanceledException(token));
    }

    public ValueTaskSourceStatus GetStatus(short token) => core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        core.OnCompleted(continuation, state, token, flags);

    public void GetResult(short token)
    {
        try { core.GetResult(token); }
        finally
        {
            registration.Dispose();
            registration = default;
            Volatile.Write(ref busy, 0);
        }
    }
}
