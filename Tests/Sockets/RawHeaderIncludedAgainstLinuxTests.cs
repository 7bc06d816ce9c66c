extern alias differential;
using System.Buffers.Binary;
using differential::UserStack.Differential;
using UserStack.Drill;
using UserStack.Sockets.Api;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;
using UserStack.Transport;
using UserStack.Wire;
using static UserStack.Sockets.Api.Linux;

namespace UserStack.Tests.Sockets;

/// <summary>
/// Raw sockets with IP_HDRINCL (man 7 raw, net/ipv4/raw.c raw_send_hdrinc) and SO_BROADCAST, as
/// one table of steps played twice: on the Linux kernel's sockets on 127.0.0.1 in a network
/// namespace of our own, and on UserStack's BsdSockets between two in-memory stacks. What the
/// sender's header became on the wire is read by a raw receiving socket on the peer, so the
/// fields the kernel fills (source when 0, total length, checksum, identification when 0) are
/// compared with the ones UserStack fills. Each step's answer must be the same.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class RawHeaderIncludedAgainstLinuxTests
{
    // Experimental protocol numbers (RFC 3692): the receiver listens on one, the sender's socket is of the other.
    private const int Carried = 253, SenderProtocol = 254;
    private const ushort UdpPort = 9000;
    private static readonly Ipv4Address Given = Ipv4Address.Parse("10.9.8.7");
    private static readonly byte[] Payload = [1, 2, 3, 4, 5, 6, 7, 8];

    /// <summary>One side: the sender's and the receiver's calls, their addresses and the subnet broadcast.</summary>
    private sealed class Side(ISocketCalls sender, ISocketCalls receiver, Ipv4Address senderAddress, Ipv4Address receiverAddress, Ipv4Address broadcast)
    {
        public ISocketCalls Sender => sender;
        public ISocketCalls Receiver => receiver;
        public Ipv4Address SenderAddress => senderAddress;
        public Ipv4Address ReceiverAddress => receiverAddress;
        public Endpoint To => new(receiverAddress, 0);
        public Endpoint Broadcast => new(broadcast, UdpPort);
        public int S, R, P, U, T;

        public string Answer(ISocketCalls on, int result, string? values = null) =>
            (result < 0 ? $"-1 {on.Errno}" : result.ToString()) + (values is null ? "" : $" {values}");
    }

    /// <summary>An IPv4 header the caller builds (checksum left 0), then <paramref name="payload"/>.</summary>
    private static byte[] Header(Side s, byte tos = 0, ushort totalLength = 0, ushort id = 0, ushort fragment = 0, byte ttl = 64,
        int protocol = Carried, Ipv4Address? source = null, byte[]? options = null, int? ihl = null, int version = 4, byte[]? payload = null)
    {
        options ??= [];
        payload ??= Payload;
        var b = new byte[20 + options.Length + payload.Length];
        b[0] = (byte)((version << 4) | (ihl ?? (20 + options.Length) / 4));
        b[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), fragment);
        b[8] = ttl;
        b[9] = (byte)protocol;
        (source ?? default).Write(b.AsSpan(12));
        s.ReceiverAddress.Write(b.AsSpan(16));
        options.CopyTo(b, 20);
        payload.CopyTo(b, 20 + options.Length);
        return b;
    }

    private static string Send(Side s, byte[] packet) => s.Answer(s.Sender, s.Sender.SendTo(s.S, packet, 0, s.To));

    /// <summary>
    /// Waits for the next datagram on the receiving raw socket and says what its header carries,
    /// in words that do not depend on the side's addresses or on the kernel's identification counter.
    /// </summary>
    private static string Received(Side s, ushort idGiven = 0, Ipv4Address? sourceGiven = null, int waitMs = 2000, bool ignoreDontFragment = false)
    {
        var fds = new[] { new PollFd(s.R, POLLIN) };
        if (s.Receiver.Poll(fds, waitMs) <= 0) return "nothing arrived";
        var b = new byte[200];
        int n = s.Receiver.RecvFrom(s.R, b, MSG_DONTWAIT);
        if (n < 20) return s.Answer(s.Receiver, n);
        int ihl = (b[0] & 0xf) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(2));
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(4));
        var source = Ipv4Address.Read(b.AsSpan(12));
        var destination = Ipv4Address.Read(b.AsSpan(16));
        string idWords = id == 0 ? "0" : idGiven != 0 ? (id == idGiven ? "kept" : $"0x{id:x4}, not the one given") : "chosen (non-zero)";
        string sourceWords = source == s.SenderAddress ? "the sender's" : source == sourceGiven ? "the one given" : source.ToString();
        string destinationWords = destination == s.ReceiverAddress ? "the receiver's" : destination.ToString();
        bool checksumOk = InternetChecksum.Compute(b.AsSpan(0, ihl)) == 0;
        string options = ihl > 20 ? $" options={Convert.ToHexString(b, 20, ihl - 20)}" : "";
        return $"{n} bytes: version={b[0] >> 4} ihl={ihl} tos=0x{b[1]:x2} total_length={(totalLength == n ? "the length" : totalLength.ToString())} " +
               $"id={idWords} frag=0x{BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(6)) & (ignoreDontFragment ? ~0x4000 : 0xffff):x4} ttl={b[8]} protocol={b[9]} checksum={(checksumOk ? "valid" : "bad")} " +
               $"source={sourceWords} destination={destinationWords}{options} payload={Convert.ToHexString(b, ihl, n - ihl)}";
    }

    private static string GetHeaderIncluded(Side s, int fd)
    {
        var value = new byte[4];
        int length = 4;
        int r = s.Sender.GetSockOpt(fd, SOL_IP, IP_HDRINCL, value, ref length);
        return s.Answer(s.Sender, r, r == 0 ? $"[{BitConverter.ToInt32(value)}] len={length}" : null);
    }

    private static string SetInt(Side s, int fd, int level, int name, int value) =>
        s.Answer(s.Sender, s.Sender.SetSockOpt(fd, level, name, BitConverter.GetBytes(value)));

    private static string Open(Side s, ISocketCalls on, ref int fd, int type, int protocol) =>
        (fd = on.Socket(AF_INET, type, protocol)) >= 0 ? "fd" : s.Answer(on, fd);

    /// <summary>The steps, each with the man page or kernel function it shows.</summary>
    private static readonly (string Step, Func<Side, string> Run)[] Steps =
    [
        ("socket(SOCK_RAW, 253) receiver", s => Open(s, s.Receiver, ref s.R, SOCK_RAW, Carried)),
        ("socket(SOCK_RAW, 254) sender", s => Open(s, s.Sender, ref s.S, SOCK_RAW, SenderProtocol)),
        ("socket(SOCK_DGRAM), socket(SOCK_STREAM)", s => Open(s, s.Sender, ref s.U, SOCK_DGRAM, IPPROTO_UDP) + " " + Open(s, s.Sender, ref s.T, SOCK_STREAM, IPPROTO_TCP)),
        ("getsockopt IP_HDRINCL on a raw socket: 0 by default", s => GetHeaderIncluded(s, s.S)),
        ("setsockopt IP_HDRINCL 1 on UDP: ENOPROTOOPT (do_ip_setsockopt)", s => SetInt(s, s.U, SOL_IP, IP_HDRINCL, 1)),
        ("setsockopt IP_HDRINCL 1 on TCP: ENOPROTOOPT", s => SetInt(s, s.T, SOL_IP, IP_HDRINCL, 1)),
        ("getsockopt IP_HDRINCL on UDP", s => GetHeaderIncluded(s, s.U)),
        ("getsockopt IP_HDRINCL on TCP", s => GetHeaderIncluded(s, s.T)),
        ("setsockopt IP_HDRINCL 1 on raw", s => SetInt(s, s.S, SOL_IP, IP_HDRINCL, 1)),
        ("getsockopt IP_HDRINCL on raw: 1", s => GetHeaderIncluded(s, s.S)),
        ("sendto: TOS 0x28, TTL 33, id 0, no DF, source 0, total length 999 (wrong)", s => Send(s, Header(s, tos: 0x28, ttl: 33, totalLength: 999))),
        ("the peer sees: source and total length filled, checksum valid, an identification chosen", s => Received(s)),
        ("sendto: id 0x1234, DF, TTL 7, source 10.9.8.7, total length 1 (short)", s => Send(s, Header(s, id: 0x1234, fragment: 0x4000, ttl: 7, totalLength: 1, source: Given))),
        ("the peer sees: id and source kept (raw_send_hdrinc)", s => Received(s, idGiven: 0x1234, sourceGiven: Given)),
        ("sendto: id 0 with DF", s => Send(s, Header(s, fragment: 0x4000))),
        ("the peer sees: id stays 0 with DF (ip_select_ident)", s => Received(s)),
        ("sendto: a header with 4 bytes of options (NOP NOP NOP EOL)", s => Send(s, Header(s, options: [1, 1, 1, 0]))),
        ("the peer sees the options", s => Received(s)),
        ("sendto 19 bytes: EINVAL (shorter than an IPv4 header)", s => Send(s, Header(s)[..19])),
        ("sendto 0 bytes: EINVAL", s => Send(s, [])),
        ("sendto: ihl 15 (60 bytes) in a 28-byte buffer: EINVAL", s => Send(s, Header(s, ihl: 15))),
        ("sendto: version 6 in the header: sent (raw_send_hdrinc does not look at it)", s => Send(s, Header(s, version: 6))),
        ("nothing arrives (the receiver drops it)", s => Received(s, waitMs: 300)),
        ("sendto: ihl 4 (16 bytes): EINVAL", s => Send(s, Header(s, ihl: 4))),
        ("sendto: carried protocol 17 through a socket of 254", s => Send(s, Header(s, protocol: 17))),
        ("nothing reaches the receiver of 253", s => Received(s, waitMs: 300)),
        ("setsockopt IP_HDRINCL 0", s => SetInt(s, s.S, SOL_IP, IP_HDRINCL, 0)),
        ("socket(SOCK_RAW, 253) plain sender", s => Open(s, s.Sender, ref s.P, SOCK_RAW, Carried)),
        ("plain raw sendto: 8 bytes of payload", s => s.Answer(s.Sender, s.Sender.SendTo(s.P, Payload, 0, s.To))),
        // DF on a plain raw datagram is the IP layer's path-MTU choice (Linux IP_PMTUDISC_WANT), not IP_HDRINCL's: not compared here.
        ("the receiver of 253 gets the whole IP header (man 7 raw)", s => Received(s, ignoreDontFragment: true)),
        ("UDP sendto the subnet broadcast without SO_BROADCAST: EACCES (udp_sendmsg)", s => s.Answer(s.Sender, s.Sender.SendTo(s.U, [1], 0, s.Broadcast))),
        ("raw sendto the subnet broadcast without SO_BROADCAST: EACCES (raw_sendmsg)", s => s.Answer(s.Sender, s.Sender.SendTo(s.P, [1], 0, s.Broadcast))),
        ("setsockopt SO_BROADCAST 1 on UDP", s => SetInt(s, s.U, SOL_SOCKET, SO_BROADCAST, 1)),
        ("UDP sendto the subnet broadcast with SO_BROADCAST", s => s.Answer(s.Sender, s.Sender.SendTo(s.U, [1], 0, s.Broadcast))),
        ("close all", s => string.Join(" ", new[] { s.S, s.P, s.U, s.T }.Select(fd => s.Sender.Close(fd))) + " " + s.Receiver.Close(s.R)),
    ];

    private static List<string> Play(Side side) => Steps.Select(step => step.Run(side)).ToList();

    [Test]
    public void Raw_header_included_sends_answer_and_appear_on_the_wire_as_linux_does()
    {
        Root.Require();
        List<string> linux;
        using (var ns = NetworkNamespace.Create($"ushdr-{Environment.ProcessId}"))
            linux = ns.RunInside(() =>
            {
                var kernel = new KernelSockets();
                var loopback = Ipv4Address.Parse("127.0.0.1");
                return Play(new Side(kernel, kernel, loopback, loopback, Ipv4Address.Parse("127.255.255.255")));
            });

        List<string> ours;
        using (var pair = new HostedPair())
            ours = Play(new Side(new UserStackCalls(new BsdSockets(pair.A)), new UserStackCalls(new BsdSockets(pair.B)),
                HostedPair.AddressA, HostedPair.AddressB, Ipv4Address.Parse("10.7.0.255")));

        var rows = Steps.Select((s, i) => $"{(linux[i] == ours[i] ? "  " : "≠ ")}{s.Step}: Linux {linux[i]}, UserStack {ours[i]}").ToList();
        TestContext.Out.WriteLine(string.Join("\n", rows));
        Assert.That(rows.Where(r => r.StartsWith('≠')), Is.Empty, "every step answers as Linux's");
    }
}
