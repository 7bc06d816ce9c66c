using System.Text.RegularExpressions;

namespace UserStack.Differential;

/// <summary>
/// The judgement on each difference, written down: a rule names the script (or any), the line
/// (or any) and the aspect, and gives the class with its reasoning and the RFC clause that allows
/// or forbids the choice. The first rule that fits wins; a difference no rule fits is
/// Unclassified, and the run says so (docs/differential.md explains every rule).
/// </summary>
public static class Classifier
{
    private sealed record Rule(string Key, string? Script, int? Line, Aspect? Aspect, Func<Difference, bool>? When, DifferenceClass Class, string Reason);

    private static readonly Regex OnlyWscale = new(@"^wscale \d+ instead of \d+$");
    private static readonly Regex OnlyPsh = new(@"^flags (P\.|\.) instead of (P\.|\.)$");

    private const DifferenceClass Bug = DifferenceClass.OurBug, Policy = DifferenceClass.LinuxPolicy, Deviation = DifferenceClass.LinuxDeviation;

    private const string HalfWindow =
        "Linux bounds its segments to half the largest window the peer has offered (tcp_bound_to_half_wnd), so a 1000- or " +
        "1500-byte window is filled with 500- or 750-byte segments where UserStack sends one 1000-byte segment; the extra and " +
        "missing lines that follow are the same segments cut differently. RFC 9293 3.8.6.2.1 (sender SWS avoidance, after " +
        "RFC 1122 4.2.3.4) lets a sender send whenever it can fill Fs x max(SND.WND) with Fs = 1/2, and segment size below " +
        "Eff.snd.MSS is the sender's choice.";

    private const string RateLimit =
        "Linux rate-limits every ACK it sends in answer to an invalid segment (out-of-window data or RST, an unacceptable " +
        "ACK, PAWS) to one per 500 ms per connection (net.ipv4.tcp_invalid_ratelimit) and challenge ACKs also per namespace " +
        "(tcp_challenge_ack_limit); UserStack allows 10 a second. RFC 5961 7 recommends an ACK throttling mechanism and leaves " +
        "its rate to the implementation. Checked: with the lines 0.6 s apart Linux answers each one.";

    private const string ZeroWindowProbe =
        "Linux probes a zero window with an empty segment at SND.UNA - 1 (tcp_xmit_probe_skb), which any receiver must ACK; " +
        "UserStack sends one octet of new data, as RFC 9293 3.8.6.1 says: 'The sending TCP peer must regularly transmit at " +
        "least one octet of new data (if available), or retransmit ... to probe the window' (RFC 1122 4.2.2.17). Linux's " +
        "probe works, but it is neither. (Either way the answers are not duplicate ACKs: after them both send the full initial window.)";

    private const string TailLossProbe =
        "With no ACK for ~2 RTTs after the initial window, Linux sends one more segment as a tail loss probe (RFC 8985 TLP, " +
        "on by default in Linux); UserStack does not implement RACK-TLP and waits for the ACK or the RTO. RFC 8985 is an " +
        "optional mechanism; RFC 5681's cwnd rules are met by both.";

    private const string TimerWheel =
        "Linux keeps keepalive and FIN-WAIT-2 timers in its timer wheel, which fires a timer up to 1/8 of its length late " +
        "(kernel/time/timer.c), and the differential run goes on in real time on a loaded machine; once one probe is late the " +
        "rest of the script's times are off. RFC 1122 4.2.3.6 only asks that keepalive be configurable and off by default, " +
        "and RFC 9293 has no FIN-WAIT-2 timer at all (tcp_fin_timeout is Linux's own), so the timing is Linux's choice.";

    private static readonly List<Rule> Rules =
    [
        // ---- options and windows: resource choices --------------------------------------------------
        new("wscale", null, null, Aspect.Options, d => OnlyWscale.IsMatch(d.Detail), Policy,
            "The window scale is the receiver's choice from its buffer (RFC 7323 2.2-2.3: the shift count it sends is its own). " +
            "Linux sizes it from max(tcp_rmem[2], net.core.rmem_max); rmem_max is machine-wide (4 MiB here), so even with the " +
            "namespace's tcp_rmem at UserStack's 256 KiB Linux says 7 where UserStack says 3."),
        new("simultaneous-open-options", "simultaneous-open", null, Aspect.Options, null, Deviation,
            "In a simultaneous open Linux answers a SYN that carried only MSS with a SYN,ACK carrying wscale, sackOK and TS (it " +
            "resends its own SYN's options). RFC 7323 2.2: a Window Scale option may be sent in a <SYN,ACK> only if one was " +
            "received in the <SYN>; 3.2: TSopt likewise; RFC 2018 2: SACK-permitted only when the other side's SYN allowed it. " +
            "Harmless (the peer ignores options it did not ask for), but not what the RFCs say."),
        new("window", "rfc7323-window-scale-applied-after-handshake", null, Aspect.Window, null, Policy,
            "Linux advertises 1016 << 7 = 130048 bytes, UserStack 32768 << 3 = 262144 (its fixed 256 KiB buffer): both right-shift " +
            "their real window by their own scale after the handshake, which is what the script checks. How much to offer is the " +
            "receiver's choice (RFC 9293 3.8.6; RFC 7323 2.3)."),
        // ---- PSH -------------------------------------------------------------------------------------
        new("psh", null, null, Aspect.Segment, d => OnlyPsh.IsMatch(d.Detail), Policy,
            "Linux sets PSH on some segments in the middle of a write (tcp_mark_push when more than half a window is " +
            "unpushed), UserStack only on the segment that empties the send buffer. RFC 9293 3.9.1: PSH is not a record marker " +
            "and the sender decides when to push (MAY-16/MAY-17); the receiver may not rely on it."),
        // ---- segment sizes against small windows -----------------------------------------------------
        new("half-window", "send-window-is-respected", null, null, null, Policy, HalfWindow),
        new("half-window", "rfc9293-snd-wnd-not-updated-by-old-ack", null, null, null, Policy, HalfWindow),
        new("half-window", "sender-sws-avoidance-waits-for-a-full-segment", null, null, null, Policy, HalfWindow),
        // ---- RFC 5961 --------------------------------------------------------------------------------
        new("rst-outside-window-acked", "rfc5961-rst-challenge-ack", null, Aspect.Extra, null, Deviation,
            "Linux (6.18 here) answers a RST whose sequence number is outside the receive window (seq 100000, window 65535) " +
            "with an ACK; checked alone, 0.6 s away from the other lines. RFC 5961 3.2 (1) and RFC 9293 3.10.7.4 (first check: " +
            "an unacceptable segment gets an ACK 'unless the RST bit is set, if so drop the segment and return') say to drop " +
            "it silently. Harmless, but an answer the RFC does not give."),
        new("invalid-ack-rate-limit", "rfc5961-rst-challenge-ack", null, Aspect.Missing, null, Policy, RateLimit),
        new("invalid-ack-rate-limit", "rfc5961-ack-outside-the-acceptable-range", null, Aspect.Missing, null, Policy, RateLimit),
        new("invalid-ack-rate-limit", "rfc5961-challenge-acks-are-rate-limited", null, Aspect.Missing, null, Policy, RateLimit),
        // ---- delayed and early ACKs ------------------------------------------------------------------
        new("quick-ack", "delayed-ack-every-second-full-segment", null, Aspect.Extra, null, Policy,
            "Linux starts a connection in quick-ACK mode and acknowledges each of the first segments at once; UserStack delays " +
            "the ACK of a single full segment. RFC 9293 3.8.6.3 and RFC 5681 4.2: an ACK SHOULD be sent for at least every " +
            "second full-sized segment and delayed no more than 500 ms: ACKing more often is allowed."),
        new("fin-ack-delayed", "passive-open-data-and-passive-close", null, Aspect.Timing, null, Policy,
            "Linux delays the ACK of the peer's FIN (it enters ping-pong mode in CLOSE-WAIT and waits ~40 ms, TCP_ATO_MIN, for " +
            "the application's answer to carry it); UserStack ACKs at once. RFC 9293 3.8.6.3 / RFC 1122 4.2.3.2 allow delaying " +
            "an ACK up to 0.5 s."),
        // ---- timers ----------------------------------------------------------------------------------
        new("timer-wheel", "rfc1122-keepalive-probes-and-gives-up", null, null, null, Policy, TimerWheel),
        new("fin-wait-2-timer", "fin-wait-2-times-out-after-close", null, Aspect.Missing, null, Policy,
            TimerWheel + " Here the peer's ACK 100 ms after the 60 s timeout still finds Linux's FIN-WAIT-2 socket (a 60 s timer " +
            "may run up to ~4 s late), so nothing answers it where UserStack, whose socket is gone, sends a RST (not re-run with a longer wait)."),
        new("syn-sent-early-syn", "syn-sent-rst-refuses", null, Aspect.Timing, null, Deviation,
            "A RST,ACK with an unacceptable ACK in SYN-SENT makes Linux resend its SYN within ~2 ms (tcp_rcv_synsent_state_process: " +
            "'Previous FIN/ACK or RST/ACK might be ignored', TCP_TIMEOUT_MIN) instead of at the 1 s RTO. RFC 9293 3.10.7.3 " +
            "says drop the segment and return, and RFC 6298 5 retransmits on the timer; the early SYN is deliberate and harmless."),
        new("zero-window-probe", "rfc5681-window-probe-answers-are-not-duplicate-acks-newreno", null, Aspect.Segment, null, Deviation, ZeroWindowProbe),
        new("zero-window-probe", "rfc5681-window-probe-answers-are-not-duplicate-acks-sack", null, Aspect.Segment, null, Deviation, ZeroWindowProbe),
        new("tail-loss-probe", "rfc5681-window-probe-answers-are-not-duplicate-acks-sack", null, Aspect.Extra, null, Policy, TailLossProbe),
        new("tail-loss-probe", "simultaneous-open", null, Aspect.Extra, d => d.UserStack == "(nothing more)", Policy, TailLossProbe),
        new("autocork-tail", "rfc6691-sack-option-shortens-the-data-segment", null, Aspect.Extra, null, Policy,
            "Linux holds the 24-byte tail of the write (autocorking: a small segment waits while earlier ones are still " +
            "queued below TCP) and sends it ~200 ms later with its tail loss probe, where UserStack sends it at once (no small " +
            "segment is outstanding, so Minshall's Nagle lets it go). RFC 1122 4.2.3.4 and RFC 9293 3.7.4 let a sender hold " +
            "a partial segment; both send the same 988 + 988 + 24 bytes with the same SACK block, so the MSS rule under test agrees."),
        new("zero-window-probe", "persist-timer-probes-a-zero-window", null, Aspect.Segment, null, Deviation, ZeroWindowProbe),
        // ---- data on a SYN, ISNs ---------------------------------------------------------------------
        new("data-on-syn-dropped", "rfc9293-data-on-syn-is-delivered-after-handshake", null, null, null, Deviation,
            "Linux (without TCP Fast Open) discards text that arrives on a SYN: its SYN,ACK acknowledges only the SYN (as " +
            "UserStack's), but then the text is gone and the peer must resend it. RFC 9293 3.10.7.2 (LISTEN, fourth): 'any " +
            "other control or text should be queued for processing later'. No data is lost (it was never acknowledged), it only costs a retransmission."),
        new("data-on-syn-ack-dropped", "rfc9293-3.10.7.3-syn-ack-with-text-gets-one-ack", null, null, null, Deviation,
            "Linux (without TCP Fast Open) discards text that arrives on a SYN,ACK (tcp_rcv_synsent_state_process ACKs the SYN " +
            "and drops the segment), so its ACK covers only the SYN and the read finds nothing until the peer resends. " +
            "RFC 9293 3.10.7.3 (SYN-SENT, fifth): 'If there are other controls or text in the segment, continue processing " +
            "at the sixth step'; UserStack takes the text and acknowledges it with the SYN. Nothing is lost, it costs a retransmission."),
        new("isn-clock", "syn-received-rst-returns-to-listen", null, Aspect.Segment, d => d.Detail.StartsWith("seq "), Deviation,
            "The second SYN,ACK's ISN is the first one's plus the clock ticks in between: UserStack's clock ticks every 4 us " +
            "(20 ms = 5000, as RFC 9293 3.4.1 MUST-8 / RFC 6528 3 describe), Linux's secure_tcp_seq every 64 ns (20 ms = " +
            "312500). Both are clock-driven and keyed; Linux's clock is 62 times faster than the RFC's 'roughly every 4 " +
            "microseconds' (it wraps in 275 s instead of 4.55 hours, still more than 2 MSL)."),
    ];

    public static Verdict Classify(Difference d)
    {
        foreach (var r in Rules)
        {
            if (r.Script is not null && r.Script != d.Script) continue;
            if (r.Line is not null && r.Line != d.Line) continue;
            if (r.Aspect is not null && r.Aspect != d.Aspect) continue;
            if (r.When is not null && !r.When(d)) continue;
            return new Verdict(r.Class, r.Reason, r.Key);
        }
        return new Verdict(DifferenceClass.Unclassified, "no judgement written down for this difference");
    }
}
