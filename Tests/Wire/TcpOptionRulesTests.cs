using UserStack.Wire;

namespace UserStack.Tests.Wire;

/// <summary>RFC 9293 3.1/3.2: the option rules every TCP must follow, on our reader and our writer.</summary>
public class TcpOptionRulesTests
{
    private static readonly TcpOptionsRepr Every = new(MaximumSegmentSize: 1460, WindowScale: 7, SackPermitted: true, Timestamps: (1u, 2u),
        Sack: default(SackBlocks).With(new(new SeqNumber(100), new SeqNumber(200))));

    [Test]
    [Rfc(9293, "MUST-4")]
    public void End_of_list_no_operation_and_mss_are_read()
    {
        byte[] options = [1, 2, 4, 0x05, 0xB4, 0, 0, 0];
        Assert.That(TcpOptionsRepr.TryParse(options, out var repr, out var why), Is.True, why.ToString());
        Assert.That(repr.MaximumSegmentSize, Is.EqualTo(1460));
    }

    [Test]
    [Rfc(9293, "MUST-6")]
    public void An_option_we_do_not_know_is_skipped_by_its_length()
    {
        byte[] options = [30, 6, 0xAA, 0xBB, 0xCC, 0xDD, 2, 4, 0x02, 0x18, 0, 0];
        Assert.That(TcpOptionsRepr.TryParse(options, out var repr, out var why), Is.True, why.ToString());
        Assert.That(repr.MaximumSegmentSize, Is.EqualTo(536));
    }

    [Test]
    [Rfc(9293, "MUST-64")]
    public void Options_are_read_at_any_alignment()
    {
        byte[] options = [1, 3, 3, 5, 2, 4, 0x05, 0x00, 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7, 0, 0, 0, 0];
        Assert.That(TcpOptionsRepr.TryParse(options, out var repr, out var why), Is.True, why.ToString());
        Assert.That((repr.WindowScale, repr.MaximumSegmentSize, repr.Timestamps), Is.EqualTo(((byte?)5, (ushort?)1280, ((uint, uint)?)(9u, 7u))));
    }

    [Test]
    [Rfc(9293, "MUST-68")]
    public void Every_option_we_write_except_eol_and_nop_carries_its_length()
    {
        var bytes = new byte[Every.Length];
        Assert.That(Every.Write(bytes), Is.EqualTo(bytes.Length));
        var kinds = new List<int>();
        for (int i = 0; i < bytes.Length;)
        {
            if (bytes[i] is 0 or 1) { i++; continue; }
            int expected = bytes[i] switch { 2 => 4, 3 => 3, 4 => 2, 8 => 10, 5 => 2 + 8 * Every.Sack.Count, _ => -1 };
            Assert.That(bytes[i + 1], Is.EqualTo(expected), $"length of option kind {bytes[i]}");
            kinds.Add(bytes[i]);
            i += bytes[i + 1];
        }
        Assert.That(kinds, Is.EquivalentTo(new[] { 2, 3, 4, 5, 8 }));
    }

    [Test]
    [Rfc(9293, "MUST-69")]
    public void A_header_written_over_old_bytes_has_nothing_but_options_and_zero_padding()
    {
        var tcp = new TcpRepr(40000, 80, new SeqNumber(1), new SeqNumber(1), TcpFlags.Syn | TcpFlags.Ack, 65535, 0, new TcpOptionsRepr(MaximumSegmentSize: 1460, WindowScale: 7), 0);
        var segment = new byte[tcp.HeaderLength];
        Array.Fill(segment, (byte)0xFF);
        tcp.Write(segment, new Ipv4Address(10, 0, 0, 1), new Ipv4Address(10, 0, 0, 2));
        var options = segment.AsSpan(20).ToArray();
        int i = 0;
        while (i < options.Length && options[i] != 0) i += options[i] == 1 ? 1 : options[i + 1];
        Assert.That(i, Is.LessThanOrEqualTo(options.Length), "the last option runs past the header");
        Assert.That(options[i..], Is.All.EqualTo(0), "after the end of the option list only zeros may follow");
        Assert.That(TcpOptionsRepr.TryParse(options, out var parsed, out _), Is.True);
        Assert.That((parsed.MaximumSegmentSize, parsed.WindowScale), Is.EqualTo(((ushort?)1460, (byte?)7)));
    }
}
