using UserStack.Sockets.Host;
using UserStack.Time;

namespace UserStack.Drill;


/// <summary>
/// One system call on a thread of its own, as packetdrill runs blocking calls on its syscall
/// thread: the script goes on while the call waits in the stack, and the call's return is seen
/// at the virtual instant it happened. <see cref="Settle"/> waits (in real time) until the call
/// has either returned or is asleep with nothing new to look at.
/// </summary>
internal sealed class SyscallWorker
{
    private readonly StackHost host;
    private readonly Thread thread;
    private volatile bool done;
    private CallResult result;
    private Exception? failure;

    public SyscallWorker(StackHost host, Func<CallResult> call, string name)
    {
        this.host = host;
        thread = new Thread(() =>
        {
            try { result = call(); }
            catch (Exception e) { failure = e; }
            ReturnedAt = host.Now;
            done = true;
        }) { IsBackground = true, Name = $"drill-{name}" };
        thread.Start();
    }

    public bool Done => done;
    public Instant ReturnedAt { get; private set; }
    public CallResult Result => failure is null ? result : throw new DrillFailure($"the call threw {failure.GetType().Name}: {failure.Message}");

    /// <summary>True when the call has returned; false when it is blocked in the stack (or did not settle within 5 s of real time).</summary>
    public bool Settle()
    {
        var giveUp = Environment.TickCount64 + 5000;
        int spins = 0;
        while (!done)
        {
            lock (host.Gate)
                if (host.IsSettledWaiter(thread.ManagedThreadId)) return false;
            if (Environment.TickCount64 > giveUp) return false;
            if (++spins < 50) Thread.Yield(); else Thread.Sleep(1);
        }
        return true;
    }
}

/// <summary>A difference between the script and the stack: the run stops and reports it with the line.</summary>
public sealed class DrillFailure(string message) : Exception(message);

/// <summary>A construct the runner cannot execute: reported as UNSUPPORTED with the line.</summary>
public sealed class DrillUnsupported(string construct) : Exception(construct);
