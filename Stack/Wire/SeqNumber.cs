namespace UserStack.Wire;

/// <summary>
/// A TCP sequence number: arithmetic and comparison modulo 2^32 (RFC 9293 3.4).
/// a &lt; b means b lies less than 2^31 ahead of a.
/// </summary>
public readonly record struct SeqNumber(uint Value) : IComparable<SeqNumber>
{
    public static SeqNumber operator +(SeqNumber s, int n) => new(unchecked(s.Value + (uint)n));
    public static SeqNumber operator -(SeqNumber s, int n) => new(unchecked(s.Value - (uint)n));
    /// <summary>The signed distance from b to a.</summary>
    public static int operator -(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value));
    public static bool operator <(SeqNumber a, SeqNumber b) => (a - b) < 0;
    public static bool operator >(SeqNumber a, SeqNumber b) => (a - b) > 0;
    public static bool operator <=(SeqNumber a, SeqNumber b) => (a - b) <= 0;
    public static bool operator >=(SeqNumber a, SeqNumber b) => (a - b) >= 0;

    public int CompareTo(SeqNumber other) => Math.Sign(this - other);
    public override string ToString() => Value.ToString();
}
