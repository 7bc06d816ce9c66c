using UserStack.Drivers.Tap;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>
/// Issue 12's benchmarks in one run, printed as one markdown table with the machine on the line
/// above: the raw TAP ceiling (C reader), kernel to kernel over a veth with offloads off and on,
/// UserStack both ways (offloads off; on once the TAP has them), ping, connections per second,
/// HTTP keep-alive requests per second, and two stacks on the in-memory wire. Every phase is
/// bounded in time and count; everything runs in two namespaces made here and deleted after.
/// A phase that fails becomes a "not measured" row; the others still run.
/// </summary>
public static class SpeedTableMacro
{
    public static int Run(TimeSpan duration)
    {
        if (!TapDevice.IsAvailable(out var reason)) { Console.Error.WriteLine($"speed-table: {reason}"); return 2; }
        var rows = new List<SpeedRow>();
        string machine = MachineDescription.Line();
        Console.WriteLine($"speed-table, {duration.TotalSeconds:0.#} s per phase; {machine}");
        using (var lab = new SpeedLab())
        {
            double ceiling = 0;
            Phase(rows, "raw TAP ceiling (C reader counts frames)", () =>
            {
                var c = TapCeiling.Measure(lab.Client, duration);
                ceiling = c.Gbps;
                return [new SpeedRow("raw TAP ceiling (C reader counts 1514-byte frames)", $"{c.Gbps:0.000} Gbit/s",
                    Note: $"{c.FramesPerSecond:N0} frames/s, {c.ShareOfSent * 100:0}% of sent")];
            });
            const string ceilingName = "TAP ceiling";
            foreach (bool on in new[] { false, true })
            {
                string name = $"kernel -> kernel over veth, offloads {(on ? "on" : "off")}";
                Phase(rows, name, () =>
                {
                    var (r, note) = BulkRows.KernelOverVeth(lab, on, duration);
                    return [SpeedRow.Compared(name, r.Gbps, "Gbit/s", "0.000", ceiling, ceilingName, note: $"{note}; {r.Note}")];
                });
            }
            foreach (bool offload in new[] { false, true })
            {
                string mode = offload ? "on" : "off";
                string inName = $"UserStack host -> stack (discard), offloads {mode}", outName = $"UserStack stack -> host (sink), offloads {mode}";
                string asyncName = $"UserStack stack -> host (sink), async inline, offloads {mode}";
                double inGoal = offload ? 2.5 : 0.8, outGoal = offload ? 2.0 : 0.7;
                Phase(rows, $"UserStack bulk, offloads {mode}", () =>
                {
                    var (up, down, downAsync) = BulkRows.OverTheStack(lab, offload, duration);
                    return [SpeedRow.Compared(inName, up.Gbps, "Gbit/s", "0.000", ceiling, ceilingName, atLeast: inGoal, note: up.Note),
                            SpeedRow.Compared(outName, down.Gbps, "Gbit/s", "0.000", ceiling, ceilingName, atLeast: outGoal, note: $"blocking send() thread; {down.Note}"),
                            SpeedRow.Compared(asyncName, downAsync.Gbps, "Gbit/s", "0.000", ceiling, ceilingName, atLeast: outGoal, note: $"SendAsync, InlineCompletions; {downAsync.Note}")];
                });
            }
            Phase(rows, "ping, connections, HTTP", () => OverOneStack(lab, duration));
            Phase(rows, "ping with busy polling", () =>
            {
                // The reader polls 20 ms before sleeping: with a request every 10 ms it never sleeps (a core stays busy).
                var (scene, daemons) = lab.StartStack(offload: false, busyPollMicroseconds: 20_000);
                using (scene)
                using (daemons)
                {
                    var us = PingRows.Measure(lab.Client, SpeedLab.StackIp);
                    var kernel = PingRows.Measure(lab.Client, SpeedLab.KernelIp);
                    return [SpeedRow.Compared($"ping {PingRows.Count} x 10 ms, UserStack --busy-poll 20000 (avg)", us.AverageMs, "ms", "0.000", kernel.AverageMs, "kernel over veth", atMost: 1.5, note: us.Note)];
                }
            });
        }
        Phase(rows, "two stacks in memory", () =>
        {
            var m = InMemoryBulk.Measure(duration);
            return [SpeedRow.Absolute("two stacks in memory, one core: throughput", m.Gbps, "Gbit/s", "0.00", atLeast: 10, note: m.Note),
                    SpeedRow.Absolute("two stacks in memory: time per data segment", m.NanosecondsPerSegment, "ns", "0", note: "with its share of ACKs"),
                    SpeedRow.Absolute("two stacks in memory: heap per data segment", m.BytesPerSegment, "B", "0.#####", atMost: 0, note: $"{m.AllocatedBytes:N0} B in all")];
        });

        Console.WriteLine();
        Console.WriteLine(machine);
        Console.WriteLine();
        SpeedRow.Print(Console.Out, rows);
        Console.WriteLine();
        // The memory rows in the same run: 10,000 idle connections, 5,000 closed ones (each phase a process of its own).
        Console.WriteLine("memory (conn-memory 10000 5000, RSS of the stack's process):");
        int memory = ConnMemory.ConnMemoryMacro.Run(10_000, 5_000);
        return memory != 0 || rows.Any(r => r.Value.StartsWith("not measured: failed", StringComparison.Ordinal)) ? 1 : 0;
    }

    /// <summary>Ping, connection rate and HTTP against one UserStack (offloads off) and the kernel behind the veth.</summary>
    private static IEnumerable<SpeedRow> OverOneStack(SpeedLab lab, TimeSpan duration)
    {
        var rows = new List<SpeedRow>();
        var (scene, daemons) = lab.StartStack(offload: false);
        using (scene)
        using (daemons)
        using (var echo = new ConnectRate.KernelEcho(lab.Kernel!, 7))
        {
            Phase(rows, "ping", () =>
            {
                var us = PingRows.Measure(lab.Client, SpeedLab.StackIp);
                var kernel = PingRows.Measure(lab.Client, SpeedLab.KernelIp);
                return [SpeedRow.Compared($"ping {PingRows.Count} x 10 ms, UserStack over TAP (avg)", us.AverageMs, "ms", "0.000", kernel.AverageMs, "kernel over veth", atMost: 1.5, note: us.Note),
                        new SpeedRow($"ping {PingRows.Count} x 10 ms, kernel over veth (avg)", $"{kernel.AverageMs:0.000} ms", Note: kernel.Note)];
            });
            Phase(rows, "connections per second", () =>
            {
                var warm = TimeSpan.FromSeconds(Math.Min(0.5, duration.TotalSeconds / 2));
                ConnectRate.Measure(lab.Client, SpeedLab.StackIp, 7, warm);
                ConnectRate.Measure(lab.Client, SpeedLab.KernelIp, 7, warm);
                var us = ConnectRate.Measure(lab.Client, SpeedLab.StackIp, 7, duration);
                var kernel = ConnectRate.Measure(lab.Client, SpeedLab.KernelIp, 7, duration);
                return [SpeedRow.Compared("connect, 1-byte echo, close: UserStack echo daemon", us.PerSecond, "/s", "N0", kernel.PerSecond, "kernel over veth", atLeast: 1.0, note: us.Note),
                        new SpeedRow("connect, 1-byte echo, close: kernel echo over veth", $"{kernel.PerSecond:N0} /s", Note: kernel.Note)];
            });
            Phase(rows, "HTTP keep-alive", () =>
            {
                var w = HttpKeepAlive.Measure(lab.Client, $"http://{SpeedLab.StackIp}/", duration);
                return [new SpeedRow("HTTP keep-alive GET / on UserStack's HTTP daemon (wrk)", $"{w.RequestsPerSecond:N0} req/s", Note: w.Note)];
            });
        }
        return rows;
    }

    /// <summary>Runs one phase; a failure is printed and becomes a row, and the run goes on.</summary>
    private static void Phase(List<SpeedRow> rows, string name, Func<IEnumerable<SpeedRow>> measure)
    {
        Console.WriteLine($"  {name} ...");
        try { rows.AddRange(measure()); }
        catch (Exception e)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e;
            if (inner is AggregateException { InnerExceptions.Count: 1 } b) inner = b.InnerExceptions[0];
            Console.WriteLine($"  {name} failed: {inner}");
            rows.Add(SpeedRow.NotMeasured(name, $"failed ({inner.GetType().Name}: {inner.Message.Split('\n')[0]})"));
        }
    }
}
