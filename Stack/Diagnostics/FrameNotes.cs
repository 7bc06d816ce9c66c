using UserStack.Wire;

namespace UserStack.Diagnostics;

/// <summary>
/// The one-line story of a frame for an annotated capture (a pcapng packet comment): why a frame
/// was sent ("sent: retransmission 2 (RTO 400 ms), RFC 6298 §5.4") or what became of a frame
/// received ("received: dropped TcpBadChecksum (Tcp)"). Built only when a capture asks.
/// </summary>
public static class FrameNotes
{
    public static string Sent(in FrameNote note, ReadOnlySpan<byte> frame)
    {
        var s = new TcpdumpLine().Describe(frame);
        if (note.IsSet)
        {
            var text = FrameReasons.Text(note);
            return s.Destination is { } to && s.DestinationPort != 0 ? $"sent: {text}; to {to}:{s.DestinationPort}" : $"sent: {text}";
        }
        return "sent: " + Short(s);
    }

    public static string Received(DropReason fate, ReadOnlySpan<byte> frame)
    {
        if (fate != DropReason.None) return $"received: dropped {fate} ({DropReasons.LayerOf(fate)})";
        var s = new TcpdumpLine().Describe(frame);
        return s.Protocol switch
        {
            "tcp" or "udp" => $"received: delivered to {s.Protocol.ToUpperInvariant()} {s.Destination}:{s.DestinationPort}",
            _ => "received: " + Short(s),
        };
    }

    /// <summary>What the bytes say a frame is: "ARP, Request who-has ...", "ICMP echo reply, ...".</summary>
    private static string Short(FrameSummary s)
    {
        int colon = s.Text.IndexOf(": ", StringComparison.Ordinal);
        return s.Protocol == "arp" || colon < 0 ? s.Text : s.Text[(colon + 2)..];
    }
}
