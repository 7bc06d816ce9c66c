using UserStack.Wire;

namespace UserStack.Tests.Wire;

public class AddressTests
{
    [TestCase("10.0.0.2")]
    [TestCase("255.255.255.255")]
    [TestCase("0.0.0.0")]
    public void Ipv4_address_text_round_trips(string text) => Assert.That(Ipv4Address.Parse(text).ToString(), Is.EqualTo(text));

    [TestCase("10.0.0")]
    [TestCase("10.0.0.256")]
    [TestCase("a.b.c.d")]
    [TestCase("10.0.0.1.1")]
    [TestCase("")]
    [TestCase("1 .2.3.4")]
    public void Malformed_ipv4_text_is_refused(string text) => Assert.That(Ipv4Address.TryParse(text, out _), Is.False);

    [Test]
    public void Mac_address_text_round_trips_and_knows_its_kind()
    {
        var mac = MacAddress.Parse("02:ab:cd:ef:01:23");
        Assert.That(mac.ToString(), Is.EqualTo("02:ab:cd:ef:01:23"));
        Assert.That(mac.IsUnicast, Is.True);
        Assert.That(MacAddress.Parse("33:33:00:00:00:01").IsMulticast, Is.True);
        Assert.That(MacAddress.Broadcast.IsBroadcast, Is.True);
        Assert.That(MacAddress.TryParse("02:ab:cd:ef:01", out _), Is.False);
        Assert.That(MacAddress.TryParse("02:ab:cd:ef:01:zz", out _), Is.False);
    }

    [Test]
    public void A_random_mac_is_locally_administered_unicast()
    {
        var mac = MacAddress.NewLocallyAdministered(new Random(1));
        Assert.That(mac.IsUnicast, Is.True);
        Assert.That((mac.Value >> 40) & 0x02, Is.EqualTo(0x02UL));
    }

    [Test]
    public void Cidr_knows_its_network_and_broadcast()
    {
        var cidr = Ipv4Cidr.Parse("10.0.0.2/24");
        Assert.That(cidr.Network, Is.EqualTo(Ipv4Address.Parse("10.0.0.0")));
        Assert.That(cidr.SubnetBroadcast, Is.EqualTo(Ipv4Address.Parse("10.0.0.255")));
        Assert.That(cidr.Contains(Ipv4Address.Parse("10.0.0.200")), Is.True);
        Assert.That(cidr.Contains(Ipv4Address.Parse("10.0.1.1")), Is.False);
        Assert.That(() => Ipv4Cidr.Parse("10.0.0.2/33"), Throws.TypeOf<FormatException>());
        Assert.That(() => Ipv4Cidr.Parse("10.0.0.2"), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void Sequence_numbers_compare_modulo_two_to_the_32()
    {
        // RFC 9293 3.4: comparisons wrap around.
        var near = new SeqNumber(0xFFFF_FFF0);
        var past = near + 0x20;
        Assert.That(past.Value, Is.EqualTo(0x10u));
        Assert.That(near < past, Is.True);
        Assert.That(past - near, Is.EqualTo(0x20));
        Assert.That(past > near, Is.True);
    }
}
