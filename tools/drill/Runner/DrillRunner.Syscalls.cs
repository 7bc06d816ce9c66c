using UserStack.Drill.Language;

namespace UserStack.Drill;

// System calls: each goes through BsdSockets with Linux's numbers, as packetdrill's
// run_system_call.c makes them on a kernel; ScriptCalls reads the line and checks the result (the
// differential tool checks the kernel's with the same code).
public sealed partial class DrillRunner
{
    private void RunSyscall(SyscallEvent call, long time, long? blockingEnd)
    {
        var body = calls.Prepare(call);
        if (call.IsBlocking)
        {
            if (blocking is { Done: false }) throw new DrillFailure("blocking system call while another blocking system call is already in progress");
            blocking = new SyscallWorker(host, body, call.Name);
            blockingCall = (call, time, blockingEnd!.Value);
            Settle();
            return;
        }
        var worker = new SyscallWorker(host, body, call.Name);
        if (!worker.Settle())
            throw new DrillFailure($"{call.Name}() blocked; packetdrill expects a call without `...` to return at once (write START...END for a blocking call)");
        Finish(call, worker.Result);
    }

    /// <summary>A blocking call that has returned: its end time within the tolerance of `...END`, then its result.</summary>
    private void CheckBlockingCall()
    {
        if (blocking is not { Done: true } w || blockingCall is not var (call, startUsecs, endUsecs)) return;
        blocking = null;
        blockingCall = null;
        long actual = (w.ReturnedAt - start).Ticks / TimeSpan.TicksPerMicrosecond;
        long tolerance = ToleranceFor(endUsecs, startUsecs);
        if (actual < endUsecs - tolerance || actual > endUsecs + tolerance)
            throw new DrillFailure($"line {call.Line}: timing error: expected system call return at {Seconds(endUsecs)} sec but happened at {Seconds(actual)} sec; tolerance {Seconds(tolerance)} sec");
        try { Finish(call, w.Result); }
        catch (DrillFailure f) { throw new DrillFailure($"line {call.Line}: {f.Message}"); }
    }

    /// <summary>The returned value and errno against `= RESULT [ERRNO]`, and the values the call handed back.</summary>
    private void Finish(SyscallEvent call, CallResult r)
    {
        if (calls.Check(call, r) is { } failure) throw new DrillFailure(failure);
    }
}
