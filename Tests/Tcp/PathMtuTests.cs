using UserStack.Drivers.Virtual;
using UserStack.Icmp;
using UserStack.Tcp;
using UserStack.Tests.Support;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tests.Tcp;

/// <summary>DF on TCP segments (Linux IP_PMTUDISC_DO) and what a "fragmentation needed" under the 552-byte floor does to it.</summary>
public class PathMtuTests
{
    /// <summary>The DF bits of the TCP datagrams B's raw socket saw since the last call.</summary>
    private static List<bool> DontFragmentBits(UserStack.Raw.RawSocket raw)
    {
        var bits = new List<bool>();
        var buffer = new byte[2048];
        while (raw.TryReceive(buffer, false, out int n, out _, out _) == Errno.Ok)
        {
            Assert.That(Ipv4Packet.TryRead(buffer.AsSpan(0, n), out var ip, out _), Is.True);
            bits.Add((ip.Flags & Ipv4Flags.DontFragment) != 0);
        }
        return bits;
    }

    private static void FragmentationNeeded(WiredPair w, TcpConnection client, int mtu)
    {
        var quote = new byte[28];
        new Ipv4Repr(WiredPair.AddressA, WiredPair.AddressB, IpProtocol.Tcp, 20).Write(quote);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(quote.AsSpan(20), client.Local.Port);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(quote.AsSpan(22), client.Remote!.Value.Port);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(quote.AsSpan(24), client.SendUnacknowledged.Value);
        Assert.That(QuotedDatagram.TryRead(quote, out var quoted), Is.True);
        w.A.Tcp.ReceiveError(IcmpType.DestinationUnreachable, IcmpLayer.FragmentationNeeded, mtu, quoted, w.Wire.Now);
    }

    [Test]
    public void Tcp_segments_carry_df_until_a_next_hop_mtu_under_552_locks_the_path_mtu()
    {
        var w = new WiredPair(1, new WireFaults());
        var raw = w.B.Raw.Open(IpProtocol.Tcp);
        var (client, server) = w.Connect(80);
        Assert.That(server, Is.Not.Null);
        client.Send(new byte[3000], w.Wire.Now, out _);
        w.Wire.RunFor(TimeSpan.FromSeconds(1));
        var before = DontFragmentBits(raw);
        Assert.That(before, Is.Not.Empty);
        Assert.That(before, Has.All.True, "Linux's TCP: IP_PMTUDISC_DO");

        client.Send(new byte[3000], w.Wire.Now, out _);
        FragmentationNeeded(w, client, 1200);
        Assert.That(client.PathMtu, Is.EqualTo(1200));
        Assert.That(client.PathMtuLocked, Is.False);
        FragmentationNeeded(w, client, 300);
        Assert.That(client.PathMtu, Is.EqualTo(TcpConnection.MinimumPathMtu), "never below 552 (Linux ip_rt_min_pmtu)");
        Assert.That(client.PathMtuLocked, Is.True);
        Assert.That(client.SendMss, Is.LessThanOrEqualTo(512));
        w.Wire.RunFor(TimeSpan.FromSeconds(1));
        var after = DontFragmentBits(raw);
        Assert.That(after, Is.Not.Empty);
        Assert.That(after.TakeLast(2), Has.All.False, "a locked path MTU: no DF, as Linux's ip_dont_fragment");
        Assert.That(client.TakeSocketError(), Is.EqualTo(Errno.Ok), "no error reaches the socket");
    }

    [Test]
    public void A_next_hop_mtu_that_is_not_lower_changes_nothing()
    {
        var w = new WiredPair(2, new WireFaults());
        var (client, _) = w.Connect(80);
        int mss = client.SendMss;
        client.Send(new byte[100], w.Wire.Now, out _);
        FragmentationNeeded(w, client, 9000);
        Assert.That(client.PathMtu, Is.EqualTo(1500));
        Assert.That(client.SendMss, Is.EqualTo(mss));
    }
}
