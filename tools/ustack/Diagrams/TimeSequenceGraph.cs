using ScottPlot;

namespace UserStack.Tools.Diagrams;

/// <summary>
/// Stevens' time-sequence graph (TCP/IP Illustrated; tcptrace's form) of the direction of a conversation
/// that carried more data: each data segment a vertical bar from its first to its last sequence number at
/// the time it was sent (retransmissions in red), the acknowledgment line of the other direction and its
/// receive-window line (ack + window &lt;&lt; wscale) as steps. Sequence numbers relative, as on the ladder.
/// </summary>
public static class TimeSequenceGraph
{
    public static readonly Color Data = Color.FromHex("#1f4e9c"), Retransmitted = Color.FromHex("#d62728"), Ack = Color.FromHex("#2ca02c"), Window = Color.FromHex("#e6a100");

    /// <summary>The data segments drawn: (time, first, last sequence number, retransmission).</summary>
    public sealed record Result(Plot Plot, string Sender, string Receiver, IReadOnlyList<(double Time, double From, double To, bool Retransmission)> Bars);

    public static Result Build(LadderDiagram d)
    {
        // In time order: a capture may hold a received frame after the answer it caused, stamped earlier.
        var arrows = d.Steps.Where(s => s.IsArrow && s.Segment is { BadChecksum: false }).OrderBy(s => s.Time).ToList();
        long rightwards = arrows.Where(s => s.Arrow == LadderArrow.LeftToRight).Sum(s => (long)s.Segment!.Length);
        long leftwards = arrows.Where(s => s.Arrow == LadderArrow.RightToLeft).Sum(s => (long)s.Segment!.Length);
        var dataWay = rightwards >= leftwards ? LadderArrow.LeftToRight : LadderArrow.RightToLeft;
        var (sender, receiver) = dataWay == LadderArrow.LeftToRight ? (d.Left, d.Right) : (d.Right, d.Left);

        var plot = new Plot();
        var bars = new List<(double, double, double, bool)>();
        bool dataLabelled = false, retxLabelled = false;
        foreach (var s in arrows.Where(s => s.Arrow == dataWay && s.Segment!.Sequence is not null && (s.Segment.Length > 0 || s.Segment.Flags.Contains('S') || s.Segment.Flags.Contains('F'))))
        {
            var seg = s.Segment!;
            double from = seg.Sequence!.Value, to = seg.End;
            var line = plot.Add.Line(s.Time, from, s.Time, to);
            line.LineWidth = 2;
            line.MarkerSize = 5;
            line.Color = seg.IsRetransmission ? Retransmitted : Data;
            if (seg.IsRetransmission && !retxLabelled) { line.LegendText = "retransmission"; retxLabelled = true; }
            else if (!seg.IsRetransmission && !dataLabelled) { line.LegendText = $"data {sender} → {receiver}"; dataLabelled = true; }
            bars.Add((s.Time, from, to, seg.IsRetransmission));
        }

        var acks = arrows.Where(s => s.Arrow != dataWay && s.Segment!.Acknowledgment is not null).ToList();
        if (acks.Count > 0)
        {
            double[] xs = acks.Select(s => s.Time).ToArray();
            var ack = plot.Add.ScatterLine(xs, acks.Select(s => (double)s.Segment!.Acknowledgment!.Value).ToArray());
            ack.ConnectStyle = ConnectStyle.StepHorizontal;
            ack.Color = Ack;
            ack.LegendText = $"ACK from {receiver}";
            var window = plot.Add.ScatterLine(xs, acks.Select(s => s.Segment!.Acknowledgment!.Value + ((double)s.Segment.Window * (1 << s.Segment.WindowScale))).ToArray());
            window.ConnectStyle = ConnectStyle.StepHorizontal;
            window.Color = Window;
            window.LegendText = "receive window (ack + win)";
        }
        FocusOnData(plot, arrows, bars, acks);
        plot.Title($"Time-sequence graph: {sender} → {receiver}");
        plot.XLabel("time (s)");
        plot.YLabel("relative sequence number");
        plot.ShowLegend(Alignment.UpperLeft);
        return new Result(plot, sender, receiver, bars);
    }

    /// <summary>
    /// The sequence axis spans the data and the ACKs; the window line shows where it fits, as in tcptrace:
    /// a window far larger than what was sent would otherwise flatten every data bar to a point.
    /// </summary>
    private static void FocusOnData(Plot plot, List<LadderStep> arrows, List<(double, double, double, bool)> bars, List<LadderStep> acks)
    {
        if (arrows.Count == 0) return;
        double t0 = arrows[0].Time, t1 = Math.Max(arrows[^1].Time, t0 + 1e-3);
        var values = bars.SelectMany(b => new[] { b.Item2, b.Item3 }).Concat(acks.Select(a => (double)a.Segment!.Acknowledgment!.Value)).DefaultIfEmpty(0).ToList();
        double low = values.Min(), high = Math.Max(values.Max(), low + 1);
        double pad = (high - low) * 0.08, slack = (t1 - t0) * 0.03;
        plot.Axes.SetLimits(t0 - slack, t1 + slack, low - pad, high + pad);
    }
}
