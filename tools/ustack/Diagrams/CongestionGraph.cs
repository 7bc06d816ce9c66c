using ScottPlot;

namespace UserStack.Tools.Diagrams;

/// <summary>
/// The congestion window over time. From a JSON trace: cwnd of each congestion event (RFC 5681: recovery
/// entered or left, a timeout) of the host that sends the data. A capture holds no cwnd, so from a capture
/// the graph shows what bounds it from below: bytes in flight (highest sequence sent minus highest ACK seen)
/// after every segment of the data direction and every ACK of the other.
/// </summary>
public static class CongestionGraph
{
    public static readonly Color Line = Color.FromHex("#1f4e9c");

    public sealed record Result(Plot Plot, bool Estimated, IReadOnlyList<(double Time, double Bytes)> Points);

    public static Result Build(LadderDiagram d)
    {
        var sequence = TimeSequenceGraph.Build(d); // for which way the data went
        bool senderIsLeft = sequence.Sender == d.Left;
        var samples = d.Congestion.Where(c => c.LeftHost == senderIsLeft).Select(c => (c.Time, (double)c.Cwnd)).OrderBy(c => c.Time).ToList();
        bool estimated = samples.Count == 0;
        if (estimated) samples = InFlight(d, senderIsLeft);

        var plot = new Plot();
        if (samples.Count > 0)
        {
            var line = plot.Add.Scatter(samples.Select(p => p.Item1).ToArray(), samples.Select(p => p.Item2).ToArray());
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.Color = Line;
            line.LineWidth = 2;
            line.LegendText = estimated ? $"bytes in flight from {sequence.Sender} (estimated: a capture holds no cwnd)" : $"cwnd of {sequence.Sender}";
            plot.ShowLegend(Alignment.UpperRight);
        }
        plot.Title(estimated ? $"Bytes in flight: {sequence.Sender} → {sequence.Receiver}" : $"Congestion window: {sequence.Sender}");
        plot.XLabel("time (s)");
        plot.YLabel("bytes");
        return new Result(plot, estimated, samples);
    }

    private static List<(double, double)> InFlight(LadderDiagram d, bool senderIsLeft)
    {
        var dataWay = senderIsLeft ? LadderArrow.LeftToRight : LadderArrow.RightToLeft;
        uint sent = 0, acked = 0;
        bool any = false;
        var points = new List<(double, double)>();
        foreach (var s in d.Steps.Where(s => s.IsArrow && s.Segment is { BadChecksum: false }).OrderBy(s => s.Time))
        {
            var seg = s.Segment!;
            if (s.Arrow == dataWay && seg.Sequence is not null) { if (!any || seg.End > sent) sent = seg.End; any = true; }
            else if (s.Arrow != dataWay && seg.Acknowledgment is { } a && a > acked) acked = a;
            else continue;
            if (any) points.Add((s.Time, Math.Max(0, (double)sent - acked)));
        }
        return points;
    }
}
