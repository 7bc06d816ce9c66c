using System.Buffers.Binary;
using System.Text;
using UserStack.Drill.Language;
using UserStack.Sockets.Api;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Drill;

// poll() and select() lines: descriptor sets and revents written packetdrill's way.
public sealed partial class ScriptCalls
{
    private Func<CallResult> Poll(SyscallEvent c)
    {
        var a = c.Arguments;
        if (a.Count < 3 || a[0] is not ArrayExpression list) throw new DrillFailure("poll() takes [pollfds], nfds, timeout");
        var entries = list.Items.Select(i => i as StructExpression ?? throw new DrillFailure("poll() expects {fd=..., events=...} entries")).ToList();
        var fds = entries.Select(e => new PollFd { Fd = Fd(e.Field("fd") ?? throw new DrillFailure("pollfd without fd")), Events = (short)Number(e.Field("events") ?? new IntegerExpression(c.Line, 0, false)) }).ToArray();
        int timeout = (int)Number(a[2]);
        return () =>
        {
            var r = Call(api.Poll(fds, timeout));
            for (int i = 0; i < fds.Length && r.Value >= 0; i++)
            {
                var want = entries[i].Field("revents") ?? new IntegerExpression(c.Line, 0, false);
                if (want is not EllipsisExpression && fds[i].Revents != Number(want))
                    return r with { Mismatch = $"revents of fd {fds[i].Fd} are 0x{fds[i].Revents:x}, expected {Describe(want)}" };
            }
            return r;
        };
    }

    /// <summary>
    /// select(nfds, READ, WRITE, EXCEPT, TIMEOUT): each set NULL or `{fds=[4, 5], ready=[4]}` (the
    /// descriptors given, and those expected back; no `ready` = none); TIMEOUT NULL (forever) or
    /// `{tv_sec=S, tv_usec=U}`. nfds is taken from the live descriptors (one past the highest),
    /// since the script's numbers are not the live ones.
    /// </summary>
    private Func<CallResult> Select(SyscallEvent c)
    {
        var a = c.Arguments;
        if (a.Count < 5) throw new DrillFailure("select() takes nfds, readfds, writefds, exceptfds, timeout");
        (List<int> Given, HashSet<int> Ready)? Set(Expression e)
        {
            if (e is WordExpression { Word: "NULL" } or EllipsisExpression) return null;
            if (e is not StructExpression s || s.Field("fds") is not ArrayExpression fds) throw new DrillUnsupported($"fd set {Describe(e)} (write {{fds=[...], ready=[...]}})");
            var ready = s.Field("ready") is ArrayExpression r ? r.Items.Select(Fd).ToHashSet() : [];
            return (fds.Items.Select(Fd).ToList(), ready);
        }
        var sets = new[] { Set(a[1]), Set(a[2]), Set(a[3]) };
        long? timeout = a[4] is StructExpression t && t.Field("tv_sec") is { } sec
            ? Number(sec) * 1_000_000 + Number(t.Field("tv_usec") ?? new IntegerExpression(c.Line, 0, false))
            : a[4] is WordExpression { Word: "NULL" } ? null : throw new DrillUnsupported($"select timeout {Describe(a[4])}");
        string[] names = ["readfds", "writefds", "exceptfds"];
        return () =>
        {
            var lists = sets.Select(s => s is { } set ? new List<int>(set.Given) : null).ToArray();
            var r = Call(api.Select(lists[0], lists[1], lists[2], timeout));
            for (int i = 0; i < 3 && r.Value >= 0; i++)
            {
                if (sets[i] is not { } set) continue;
                if (!lists[i]!.ToHashSet().SetEquals(set.Ready))
                    return r with { Mismatch = $"{names[i]} came back [{string.Join(", ", lists[i]!)}], expected [{string.Join(", ", set.Ready)}] (live descriptors)" };
            }
            return r;
        };
    }
}
