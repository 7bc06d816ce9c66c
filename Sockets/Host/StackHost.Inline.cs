namespace UserStack.Sockets.Host;

// Inline completions (UserSocket.InlineCompletions): an async wait of such a socket that the frames
// of one device read made ready is completed on the reader thread itself, once it has let go of the
// Gate and sent what the frames caused, instead of on the thread pool. A daemon's continuation (read
// the request, write the answer) then runs at once, without a second thread to wake; on a 2-core
// machine that hop was most of a short connection's cost (issue 12). Kestrel's transports offer the
// same choice (UnsafePreferInlineScheduling), and with the same condition: the continuation must not block.
public sealed partial class StackHost
{
    [ThreadStatic] private static List<AsyncWaiter>? deferred;
    [ThreadStatic] private static int deferring; // nested frame handlers (a device that delivers at once): the outermost completes

    /// <summary>Under the Gate, from an inline waiter's wake-up: true when this thread will complete it after the Gate is released.</summary>
    internal static bool TryDefer(AsyncWaiter waiter)
    {
        if (deferring == 0) return false;
        (deferred ??= new()).Add(waiter);
        return true;
    }

    /// <summary>
    /// This thread completes the inline waits it wakes from now until <see cref="CompleteDeferred"/>,
    /// unless it holds the Gate already (a frame injected from inside a socket call): continuations
    /// never run under the Gate, so those go to the thread pool. Returns whether it defers.
    /// </summary>
    private bool BeginDeferring()
    {
        if (Monitor.IsEntered(Gate)) return false;
        deferring++;
        return true;
    }

    /// <summary>
    /// Outside the Gate: runs the continuations of the waits woken since <see cref="BeginDeferring"/>;
    /// what they wake in turn goes to the thread pool. A continuation that throws is counted as an
    /// internal error and the others still run.
    /// </summary>
    private void CompleteDeferred()
    {
        if (--deferring > 0) return; // an outer handler still holds a Gate: it completes them when it is done
        var list = deferred;
        if (list is null || list.Count == 0) return;
        deferred = null; // a continuation that injects a frame on this thread starts a list of its own
        foreach (var waiter in list)
        {
            try { waiter.CompleteInline(); }
            catch (Exception e) { Fault(e); }
        }
        list.Clear();
        deferred ??= list;
    }
}
