using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using UserStack.Sockets.Control;

namespace UserStack.Tools.Control;

/// <summary>
/// `ustack top`'s screen, drawn with Spectre.Console: a title line, the interfaces with their
/// device counters, the stack's traffic (totals and rates since the previous snapshot) with its
/// drops by reason, and the sockets with their TCP numbers.
/// </summary>
public static class TopView
{
    public static IRenderable Render(StackSnapshot now, StackSnapshot? before, TimeSpan interval)
    {
        return new Rows(
            new Text($"ustack top: pid {now.ProcessId}, up {now.UptimeSeconds:0.0} s, every {interval.TotalSeconds:0.##} s, {now.Sockets.Length} sockets"),
            Interfaces(now),
            Traffic(now, before),
            Sockets(now));
    }

    private static Table Interfaces(StackSnapshot s)
    {
        var table = NewTable("Interface", "Address", "MAC", "MTU", "Frames in", "Frames out", "Write errors");
        foreach (var i in s.Interfaces)
            Add(table, i.Name, i.Address, i.Mac, N(i.Mtu), N(i.FramesIn), N(i.FramesOut), N(i.WriteErrors));
        return table.Title("interfaces (device counters)");
    }

    private static Table Traffic(StackSnapshot s, StackSnapshot? before)
    {
        double seconds = before is null ? 0 : s.UptimeSeconds - before.UptimeSeconds;
        string Rate(string counter) => before is null || seconds <= 0 ? "" : ((s.Counter(counter) - before.Counter(counter)) / seconds).ToString("0", CultureInfo.InvariantCulture);
        var table = NewTable("Counter", "Total", "Per second");
        foreach (var name in new[] { "FramesReceived", "FramesSent", "BytesReceived", "BytesSent", "TcpRetransmissions" })
            Add(table, name, N(s.Counter(name)), Rate(name));
        long drops = s.Drops.Sum(d => d.Value);
        long dropsBefore = before?.Drops.Sum(d => d.Value) ?? 0;
        Add(table, "Drops", N(drops), before is null || seconds <= 0 ? "" : ((drops - dropsBefore) / seconds).ToString("0", CultureInfo.InvariantCulture));
        foreach (var d in s.Drops.OrderByDescending(d => d.Value).Take(8))
            Add(table, "  " + d.Name, N(d.Value), "");
        return table.Title("stack traffic and drops by reason");
    }

    /// <summary>
    /// One row per socket: protocol, state, queues, and "local → peer" with, under it for a TCP
    /// connection, its numbers in netstat's words (the line that wraps on a narrow terminal).
    /// </summary>
    private static Table Sockets(StackSnapshot s)
    {
        var table = NewTable("Proto", "State", "Recv-Q", "Send-Q", "Local → Peer (TCP: cwnd, ssthresh in bytes; times in ms)");
        table.Columns[1].NoWrap();
        foreach (var r in s.Sockets)
        {
            var ends = new Text($"{r.Local} → {r.Remote ?? "*"}");
            IRenderable connection = r.Tcp is { } t ? new Rows(ends, new Text(SocketTable.Details(t), new Style(decoration: Decoration.Dim))) : ends;
            table.AddRow(new Text(r.Protocol), new Text(r.State), new Text(N(r.RecvQ)), new Text(N(r.SendQ)), connection);
        }
        return table.Title("sockets");
    }

    private static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var c in columns) table.AddColumn(new TableColumn(new Text(c)));
        return table;
    }

    /// <summary>Cells as plain text: addresses and names never go through Spectre's markup parser.</summary>
    private static void Add(Table table, params string[] cells) => table.AddRow(cells.Select(c => (IRenderable)new Text(c)).ToArray());

    private static string N(long? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) : "-";
}
