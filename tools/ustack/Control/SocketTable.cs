using System.Globalization;
using System.Text;
using UserStack.Sockets.Control;

namespace UserStack.Tools.Control;

/// <summary>
/// `ustack netstat`'s text, in the shape of `ss -tani`: one line per socket (netid, state,
/// Recv-Q, Send-Q, local, peer) and, for a TCP connection, an indented line with its TCP_INFO
/// numbers in ss's words: "cubic wscale:7,7 rto:204 rtt:0.512/0.256 mss:1460 cwnd:10
/// ssthresh:7 retrans:0/1 ts sack" (times in milliseconds; retrans: now/total; cwnd and
/// ssthresh in bytes, as RFC 5681 counts them, where ss counts segments).
/// </summary>
public static class SocketTable
{
    private static readonly string[] Header = ["Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"];

    public static string Format(StackSnapshot snapshot)
    {
        var rows = snapshot.Sockets.Select(s => new[] { s.Protocol, s.State, Number(s.RecvQ), Number(s.SendQ), s.Local, s.Remote ?? "*" }).ToList();
        var widths = Header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        Line(text, Header, widths);
        for (int i = 0; i < rows.Count; i++)
        {
            Line(text, rows[i], widths);
            if (snapshot.Sockets[i].Tcp is { } tcp) text.Append('\t').Append(Details(tcp)).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>ss's second line for a TCP connection.</summary>
    public static string Details(TcpRow t)
    {
        var parts = new List<string> { t.CongestionControl };
        if (t.SendWscale is { } snd && t.ReceiveWscale is { } rcv) parts.Add($"wscale:{snd},{rcv}");
        parts.Add($"rto:{Ms(t.RtoMs)}");
        parts.Add($"rtt:{Ms(t.SrttMs)}/{Ms(t.RttvarMs)}");
        parts.Add($"mss:{Number(t.Mss)}");
        parts.Add($"cwnd:{Number(t.Cwnd)}");
        if (t.Ssthresh is { } ssthresh) parts.Add($"ssthresh:{Number(ssthresh)}");
        parts.Add($"retrans:{Number(t.Retransmits)}/{Number(t.TotalRetransmits)}");
        parts.Add($"unacked:{Number(t.BytesInFlight)}");
        if (t.InRecovery) parts.Add("recovery");
        if (t.Timestamps) parts.Add("ts");
        if (t.Sack) parts.Add("sack");
        return string.Join(' ', parts);
    }

    /// <summary>Milliseconds as ss prints them: up to three decimals, no trailing zeros.</summary>
    public static string Ms(double ms) => Math.Round(ms, 3).ToString("0.###", CultureInfo.InvariantCulture);

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static void Line(StringBuilder text, string[] cells, int[] widths)
    {
        for (int i = 0; i < cells.Length; i++)
        {
            bool last = i == cells.Length - 1;
            text.Append(last ? cells[i] : cells[i].PadRight(widths[i] + 1));
        }
        text.Append('\n');
    }
}
