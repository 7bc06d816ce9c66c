using System.Text;
using UserStack.Diagnostics;
using UserStack.Tcp;

namespace UserStack.Tools.Labs;

/// <summary>Slow start, a loss, then congestion avoidance: RFC 5681 §3.1 and §3.2, drawn as a cwnd chart.</summary>
public sealed class SlowStartLab : Lab
{
    public override string Name => "slow-start";
    public override string Title => "Slow start and congestion avoidance";
    public override string Intro =>
        "A sends as fast as its congestion window (cwnd) allows over a 20 ms round trip, with NewReno. cwnd starts at 10 segments " +
        "and grows by what each ACK acknowledges, doubling every round trip, until a loss sets the slow-start threshold (ssthresh) to " +
        "half of it; from then on it grows by about one segment per round trip.";

    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(20);

    public override LabSetup Setup => new()
    {
        Delay = Rtt / 2,
        TcpA = new TcpOptions { CongestionControl = "newreno", SendBufferSize = 4 << 20, ReceiveBufferSize = 4 << 20 },
    };

    public override void Play(LabContext lab)
    {
        var s = lab.Session;
        var (client, server) = lab.ConnectStep("A 20 ms round trip: each ladder step below is a round trip.");

        var samples = new List<(double Ms, int Cwnd, int Ssthresh)>();
        var data = LabSession.Pattern(3 << 20);
        int sent = 0;
        var buffer = new byte[65536];
        var start = s.Now;
        s.DropFromA = LabFrames.DropDataSegments(120);
        lab.Step("A sends 3 MB; the wire loses segment 120", () =>
        {
            samples.Add((0, client.CongestionWindow, client.SlowStartThreshold));
            for (int round = 0; round < 24; round++)
            {
                var end = s.Now + Rtt;
                s.RunUntil(() =>
                {
                    if (sent < data.Length) sent += Math.Max(0, client.Send(data.AsSpan(sent), s.Now, out _));
                    while (server.Receive(buffer, false, s.Now, out _) > 0) { }
                    return s.Now >= end;
                }, Rtt * 2);
                samples.Add(((s.Now - start).TotalMilliseconds, client.CongestionWindow, client.SlowStartThreshold));
            }
        },
        "Slow start (RFC 5681 §3.1): cwnd grows by the bytes each ACK acknowledges, so it doubles every round trip. Three " +
        "duplicate ACKs report the lost segment: A halves cwnd into ssthresh, repairs the loss (fast retransmit and recovery, §3.2), " +
        "then stays in congestion avoidance: cwnd grows by about one MSS per round trip.",
        show: i => i.Record.Kind is TraceKind.Congestion || i.Lost);

        lab.Say(Chart(samples, client.SendMss));

        int mss = client.SendMss;
        int loss = samples.FindIndex(p => p.Ssthresh < int.MaxValue / 2);
        var slowStart = samples.Take(Math.Max(0, loss)).ToList();
        var avoidance = samples.Skip(loss + 2).ToList(); // a round trip for the recovery itself
        lab.Check(loss > 3, "slow start lasted several round trips before the loss", $"loss seen at sample {loss}");
        lab.Check(slowStart.Count >= 4 && slowStart.Zip(slowStart.Skip(1)).Skip(1).All(p => p.Second.Cwnd >= p.First.Cwnd * 3 / 2),
            "in slow start cwnd grew exponentially (at least x1.5 each round trip)", string.Join(" ", slowStart.Select(p => p.Cwnd)));
        lab.Check(avoidance.Count >= 5 && avoidance.Zip(avoidance.Skip(1)).All(p => p.Second.Cwnd - p.First.Cwnd is >= 0 and <= 2 * 1460)
            && avoidance[^1].Cwnd > avoidance[0].Cwnd,
            "after the loss cwnd grew linearly (0 to 2 segments each round trip)", string.Join(" ", avoidance.Select(p => p.Cwnd)));
        int flight = FlightSizeAtRecovery(s.TraceA.Events);
        lab.Check(loss > 0 && Math.Abs(samples[loss].Ssthresh - flight / 2) <= mss, $"the loss set ssthresh to half the data in flight when it was found ({flight} bytes; RFC 5681 §3.2, equation 4)",
            loss > 0 ? $"ssthresh {samples[loss].Ssthresh}" : "no loss");
    }

    /// <summary>FlightSize when recovery began: the highest byte A had sent less the last ACK it had received.</summary>
    private static int FlightSizeAtRecovery(List<TraceEvent> events)
    {
        uint highest = 0, acked = 0;
        foreach (var e in events)
        {
            if (e is TcpCongestionChanged c && c.What.Contains("recovery entered")) return (int)(highest - acked);
            if (e is FrameSent f && LabFrames.TryTcp(f.Frame, out _, out int n) && n > 0 && LabFrames.TryNumbers(f.Frame, out uint seq, out _, out _))
                highest = Math.Max(highest, seq + (uint)n);
            if (e is FrameReceived r && LabFrames.TryNumbers(r.Frame, out _, out uint ack, out _)) acked = ack;
        }
        return 0;
    }

    /// <summary>One bar per round trip, in segments, scaled to 60 columns.</summary>
    private static string Chart(List<(double Ms, int Cwnd, int Ssthresh)> samples, int mss)
    {
        var b = new StringBuilder("\n  cwnd per round trip (segments of " + mss + " bytes; | marks ssthresh)\n");
        int max = Math.Max(1, samples.Max(p => p.Cwnd));
        foreach (var (ms, cwnd, ssthresh) in samples)
        {
            int bar = (int)Math.Round(60.0 * cwnd / max);
            var line = new StringBuilder(new string('█', bar).PadRight(62));
            if (ssthresh < int.MaxValue / 2) { int at = Math.Min(61, (int)Math.Round(60.0 * ssthresh / max)); line[at] = '|'; }
            b.Append($"  {ms,6:0} ms {line} {cwnd / mss,4}\n");
        }
        return b.ToString();
    }
}
