using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using UserStack.Drill;
using UserStack.Drill.Language;
using UserStack.Sockets.Api;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Differential;

// Call lines: the script's socket calls, played on kernel sockets and checked by ScriptCalls.
internal sealed partial class KernelScriptRunner
{
    // ---- calls ----------------------------------------------------------------------------------

    /// <summary>
    /// A call line through <see cref="ScriptCalls"/> on the kernel's sockets (<see cref="KernelSockets"/>):
    /// the line is read and its result, errno and returned values (getsockopt's value and length,
    /// ioctl's value, poll's revents, recvmsg's msg_flags) are checked by the code DrillRunner
    /// checks UserStack with. The kernel handles a segment we wrote to the TAP a moment later, on
    /// its own: a call the script expects to succeed that says EAGAIN, or a call that only looks
    /// (poll, ioctl, getsockopt other than SO_ERROR, fcntl, a MSG_PEEK receive) whose answer
    /// differs, is made again for up to <see cref="CallRetry"/> before the difference is recorded.
    /// </summary>
    private void Call(SyscallEvent c)
    {
        if (c.IsBlocking) throw new NotSupportedException($"line {c.Line}: blocking calls (START...END) are not played against the kernel");
        var body = calls.Prepare(c);
        long? expected = c.Result is EllipsisExpression ? null : calls.Number(c.Result);
        bool looks = OnlyLooks(c);
        double until = scene.Now + CallRetry;
        CallResult r;
        string? failure;
        while (true)
        {
            r = body();
            failure = calls.Check(c, r);
            bool settling = (r.Value < 0 && r.Errno == Errno.EAGAIN && expected is >= 0) || looks;
            if (failure is null || !settling || scene.Now >= until) break;
            Thread.Sleep(1);
        }
        if (c.Name == "connect") { localPort = KernelSockets.LocalPort(calls.Fd(c.Arguments[0])); remotePort = config.ConnectPort; }
        string text = $"{c.Name} = {r.Value}{(r.Value < 0 ? " " + r.Errno : "")}{(r.Mismatch is { } m ? "; " + m : "")}";
        if (failure is not null) Add(c, Aspect.Call, text, failure);
        log.AppendLine($"{Since(scene.Now):0.000} call {Body(c)}   [linux: {text}]");
    }

    /// <summary>
    /// A blocking `START...END` call: made on the kernel with waiting allowed (SO_RCVTIMEO,
    /// SO_SNDTIMEO and select's timeout end it), on a thread of its own so that a call that does
    /// not return is seen: after END and a second it is ended by shutdown(SHUT_RDWR) of its
    /// descriptor and recorded as a difference. Nothing else happens meanwhile, so the next line
    /// must not come before END (else the script cannot be played here). The return time is
    /// checked against END with the tolerance of `&gt;` lines (plus 1/8 of the wait).
    /// </summary>
    private void CallBlocking(SyscallEvent c, double end)
    {
        int next = index + 1;
        if (next < events.Count && events[next].Time.Kind is TimeKind.Relative or TimeKind.RelativeRange
            && (end - Since(scene.Now)) - events[next].Time.Start / 1e6 > Tolerance)
            throw new NotSupportedException($"line {events[next].Line}: an event while the blocking call on line {c.Line} waits (the kernel runner makes it synchronously)");
        var body = calls.Prepare(c);
        CallResult r = default;
        double began = Since(scene.Now);
        kernel.MayWait = true;
        var worker = new Thread(() => r = body()) { IsBackground = true, Name = "blocking " + c.Name };
        try
        {
            worker.Start();
            if (!worker.Join(TimeSpan.FromSeconds(Math.Max(0, end - began) + 1)))
            {
                Add(c, Aspect.Call, "did not return", $"{c.Name}() was still waiting a second after {end:0.000}; ended by shutdown()");
                KernelShutdown(calls.Fd(c.Arguments[0]));
                worker.Join();
                return;
            }
        }
        finally { kernel.MayWait = false; }
        double returned = Since(scene.Now);
        string text = $"{c.Name} = {r.Value}{(r.Value < 0 ? " " + r.Errno : "")}{(r.Mismatch is { } m ? "; " + m : "")} at {returned:0.000}";
        if (Math.Abs(returned - end) > Tolerance + Slack(end - began))
            Add(c, Aspect.Call, text, $"{c.Name}() returned at {returned:0.000}, expected at {end:0.000}");
        else if (calls.Check(c, r) is { } failure) Add(c, Aspect.Call, text, failure);
        log.AppendLine($"{began:0.000} call {Body(c)}   [linux: {text}]");
    }

    private void KernelShutdown(int fd) => kernel.Shutdown(fd, 2);

    /// <summary>Calls that change nothing, so making them again is harmless (SO_ERROR reads and clears; F_SETFL sets).</summary>
    private bool OnlyLooks(SyscallEvent c)
    {
        var a = c.Arguments;
        return c.Name switch
        {
            "poll" or "ioctl" => !(c.Name == "ioctl" && a.Count > 1 && calls.Number(a[1]) == Linux.FIONBIO),
            "getsockopt" => a.Count > 2 && !(calls.Number(a[1]) == Linux.SOL_SOCKET && calls.Number(a[2]) == Linux.SO_ERROR),
            "fcntl" => a.Count > 1 && calls.Number(a[1]) is Linux.F_GETFL or Linux.F_GETFD,
            "recv" or "recvfrom" => a.Count > 3 && (calls.Number(a[3]) & Linux.MSG_PEEK) != 0,
            _ => false,
        };
    }
}
