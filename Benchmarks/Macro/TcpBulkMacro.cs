using UserStack.Benchmarks.Macro.Speed;
using UserStack.Drivers.Tap;

namespace UserStack.Benchmarks.Macro;

/// <summary>
/// TCP bulk throughput over the TAP at MTU 1500, host to stack and stack to host, printed beside
/// two references from the same run: the raw TAP frame ceiling (a C reader that only counts
/// 1514-byte frames the kernel writes) and kernel to kernel over a veth pair with offloads off.
/// The rows are the bulk rows of speed-table (Macro/Speed), without the rest of that table.
/// Every phase is bounded in time; everything lives in namespaces made here and removed after.
/// </summary>
public static class TcpBulkMacro
{
    public static int Run(TimeSpan duration)
    {
        if (!TapDevice.IsAvailable(out var reason)) { Console.Error.WriteLine($"tcp-bulk: {reason}"); return 2; }
        var rows = new List<(string Name, double Gbps, string Note)>();
        using (var lab = new SpeedLab())
        {
            var ceiling = TapCeiling.Measure(lab.Client, duration);
            rows.Add(("raw TAP frame ceiling (C reader counts frames)", ceiling.Gbps, $"{ceiling.FramesPerSecond:N0} frames/s, {ceiling.ShareOfSent * 100:0}% of sent"));
            var (toStack, fromStack, fromStackAsync) = BulkRows.OverTheStack(lab, offload: false, duration);
            rows.Add(("UserStack: host kernel -> stack (discard)", toStack.Gbps, toStack.Note));
            rows.Add(("UserStack: stack -> host kernel (sink)", fromStack.Gbps, fromStack.Note));
            rows.Add(("UserStack: stack -> host, async inline", fromStackAsync.Gbps, fromStackAsync.Note));
            var (veth, note) = BulkRows.KernelOverVeth(lab, offloads: false, duration);
            rows.Add(("kernel -> kernel over veth, MTU 1500", veth.Gbps, $"{note}; {veth.Note}"));
        }

        Console.WriteLine();
        Console.WriteLine($"| {"path",-46} | {"Gbit/s",7} | {"note",-40} |");
        Console.WriteLine($"|{new string('-', 48)}|{new string('-', 9)}|{new string('-', 42)}|");
        foreach (var r in rows) Console.WriteLine($"| {r.Name,-46} | {r.Gbps,7:0.000} | {r.Note,-40} |");
        double top = rows[0].Gbps;
        Console.WriteLine($"\nhost->stack is {rows[1].Gbps / top:P0} of the TAP frame ceiling; stack->host {rows[2].Gbps / top:P0} (async {rows[3].Gbps / top:P0}); kernel veth is {rows[4].Gbps / top:0.0}x the ceiling");
        return 0;
    }
}
