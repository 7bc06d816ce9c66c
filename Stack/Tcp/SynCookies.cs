using System.Buffers.Binary;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// SYN cookies (RFC 4987 3.6), sent only while a listener's SYN queue is full (Linux's
/// tcp_syncookies = 1). Our ISN is the cookie: a keyed hash of the 4-tuple, a coarse clock and
/// the index of the peer's MSS in a table of four, laid out as Linux does (the top 8 bits the
/// clock, the low 24 a hash plus the index). The third ACK brings it back as SEG.ACK - 1. Window
/// scale and SACK-permitted ride in the low 6 bits of our TSval when the SYN had timestamps
/// (Linux's cookie_init_timestamp); without timestamps the connection has neither.
/// </summary>
internal sealed class SynCookies
{
    /// <summary>Linux's msstab: the MSS a cookie can say; the largest not above the peer's is used.</summary>
    public static readonly ushort[] MssTable = [536, 1300, 1440, 1460];
    /// <summary>One tick of the cookie clock (Linux: TCP_SYNCOOKIE_PERIOD, 60 s).</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(60);
    /// <summary>Cookies from this many ticks are valid: the current one and the one before (Linux: MAX_SYNCOOKIE_AGE).</summary>
    public const int MaxAge = 2;

    private const int CountShift = 24;
    private const uint LowMask = (1u << CountShift) - 1;
    // The TSval's low bits (Linux TSBITS = 6): window scale (0xF = none), SACK-permitted, ECN.
    private const int TimestampBits = 6;
    private const uint WindowScaleMask = 0xF, SackBit = 0x10, EcnBit = 0x20;

    private readonly SipHash hash;

    public SynCookies(byte[] secret) => hash = new SipHash(InitialSequenceNumbers.DeriveKey(secret, "tcp syn cookies"));

    /// <summary>The table index for the MSS a SYN announced (536 when it announced none).</summary>
    public static int MssIndex(int peerMss)
    {
        int i = MssTable.Length - 1;
        while (i > 0 && peerMss < MssTable[i]) i--;
        return i;
    }

    public static uint Counter(Instant now) => (uint)(now.Microseconds / (long)(Period.TotalMicroseconds));

    /// <summary>The ISN of a cookie SYN,ACK for this 4-tuple, the peer's ISN and MSS index.</summary>
    public SeqNumber Make(Endpoint local, Endpoint remote, SeqNumber peerIsn, int mssIndex, Instant now)
    {
        uint count = Counter(now);
        uint value = unchecked(Hash(local, remote, 0, 0) + peerIsn.Value + (count << CountShift)
                               + ((Hash(local, remote, count, 1) + (uint)mssIndex) & LowMask));
        return new SeqNumber(value);
    }

    /// <summary>Whether <paramref name="cookie"/> (SEG.ACK - 1) is one we made for this 4-tuple and peer ISN (SEG.SEQ - 1) lately; its MSS.</summary>
    public bool TryCheck(Endpoint local, Endpoint remote, SeqNumber peerIsn, SeqNumber cookie, Instant now, out int mss)
    {
        mss = 0;
        uint count = Counter(now);
        uint t = unchecked(cookie.Value - Hash(local, remote, 0, 0) - peerIsn.Value);
        uint age = unchecked(count - (t >> CountShift)) & (uint.MaxValue >> CountShift);
        if (age >= MaxAge) return false;
        uint made = count - age;
        uint index = unchecked(t - Hash(local, remote, made, 1)) & LowMask;
        if (index >= MssTable.Length) return false;
        mss = MssTable[index];
        return true;
    }

    /// <summary>Our TSval for a cookie SYN,ACK: at most 63 ticks behind the clock, its low bits the options (cookie_init_timestamp).</summary>
    public static uint TimestampValue(uint clock, int? peerWindowScale, bool sackPermitted)
    {
        uint options = peerWindowScale is int ws ? (uint)Math.Min(ws, 14) : WindowScaleMask;
        if (sackPermitted) options |= SackBit;
        uint ts = (clock >> TimestampBits << TimestampBits) | options;
        return ts > clock ? ts - (1u << TimestampBits) : ts;
    }

    /// <summary>The options a cookie's TSval carried, from the third ACK's TS ecr; false for an ECN bit we never set.</summary>
    public static bool TryDecodeTimestamp(uint echoed, out int? peerWindowScale, out bool sackPermitted)
    {
        uint ws = echoed & WindowScaleMask;
        peerWindowScale = ws == WindowScaleMask ? null : (int)ws;
        sackPermitted = (echoed & SackBit) != 0;
        return (echoed & EcnBit) == 0;
    }

    private uint Hash(Endpoint local, Endpoint remote, uint count, byte which)
    {
        Span<byte> input = stackalloc byte[FourTuple.Length + 5];
        FourTuple.Bytes(local, remote, input);
        BinaryPrimitives.WriteUInt32BigEndian(input[FourTuple.Length..], count);
        input[^1] = which;
        return (uint)hash.Hash(input);
    }
}
