using UserStack.Drivers.Virtual;
using UserStack.Tcp;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Benchmarks.Macro;

/// <summary>
/// Congestion control compared on the virtual wire (virtual clock, so the figures are exact and
/// independent of the machine): two stacks, 10 ms each way, 1% and 5% random loss, one transfer
/// per configuration and seed; goodput = bytes delivered in order / virtual time from the first
/// SYN to the last byte read. Same seeds for every configuration.
/// </summary>
public static class LossySimMacro
{
    private static readonly (string Name, string Congestion, bool Sack)[] Configurations =
    [
        ("cubic + SACK", "cubic", true),
        ("newreno + SACK", "newreno", true),
        ("cubic, SACK off", "cubic", false),
        ("newreno, SACK off", "newreno", false),
    ];

    public static int Run(int megabytes, int seeds)
    {
        double[] losses = [0.01, 0.05];
        Console.WriteLine($"| {"configuration",-20} | " + string.Join(" | ", losses.Select(l => $"{l,4:P0} loss Mbit/s")) + " |");
        Console.WriteLine($"|{new string('-', 22)}|" + string.Join("|", losses.Select(_ => new string('-', 18))) + "|");
        var results = new Dictionary<(string, double), double>();
        foreach (var (name, congestion, sack) in Configurations)
        {
            var cells = new List<string>();
            foreach (var loss in losses)
            {
                var runs = Enumerable.Range(1, seeds).Select(seed => Goodput(seed, loss, megabytes, congestion, sack)).ToList();
                double mean = runs.Average();
                results[(name, loss)] = mean;
                cells.Add($"{mean,8:0.0} ±{Spread(runs),6:0.0}");
            }
            Console.WriteLine($"| {name,-20} | " + string.Join(" | ", cells.Select(c => $"{c,16}")) + " |");
        }
        foreach (var loss in losses)
            Console.WriteLine($"at {loss:P0} loss: cubic+SACK is {results[("cubic + SACK", loss)] / results[("newreno + SACK", loss)]:0.00}x newreno+SACK, " +
                              $"{results[("cubic + SACK", loss)] / results[("cubic, SACK off", loss)]:0.00}x cubic without SACK");
        return 0;
    }

    private static double Spread(List<double> values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Count - 1));
    }

    /// <summary>One transfer of <paramref name="megabytes"/> from A to B; Mbit/s of virtual time.</summary>
    private static double Goodput(int seed, double loss, int megabytes, string congestion, bool sack)
    {
        var tcp = new TcpOptions { CongestionControl = congestion, SelectiveAcknowledgments = sack };
        var wire = new VirtualWire(seed, new WireFaults { Delay = TimeSpan.FromMilliseconds(10) });
        var portA = wire.CreatePort("A");
        var portB = wire.CreatePort("B");
        var addressB = Ipv4Address.Parse("10.9.0.2");
        var a = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:09:01"), Address = Ipv4Cidr.Parse("10.9.0.1/24"), Secret = [1], Tcp = tcp }, portA);
        var b = new NetStack(new StackOptions { HardwareAddress = MacAddress.Parse("02:00:00:00:09:02"), Address = Ipv4Cidr.Parse("10.9.0.2/24"), Secret = [2], Tcp = tcp }, portB);
        portA.Connect(a);
        portB.Connect(b);
        var listener = b.Tcp.Open();
        b.Tcp.Bind(listener, new Endpoint(Ipv4Address.Any, 9000));
        b.Tcp.Listen(listener, 4, wire.Now);
        var client = a.Tcp.Open();
        var start = wire.Now;
        a.Tcp.Connect(client, new Endpoint(addressB, 9000), wire.Now);
        TcpConnection? server = null;
        if (!wire.RunUntil(() => (server ??= listener.TakeAccepted()) is not null, TimeSpan.FromSeconds(30))) return 0;
        wire.Faults = new WireFaults { Delay = TimeSpan.FromMilliseconds(10), Drop = loss }; // loss after the handshake (ARP has no FCS to protect it)

        var data = new byte[megabytes * 1024 * 1024];
        new Random(seed).NextBytes(data);
        var buffer = new byte[65536];
        int sent = 0, received = 0;
        bool done = wire.RunUntil(() =>
        {
            if (sent < data.Length) sent += client.Send(data.AsSpan(sent), wire.Now, out _);
            int n;
            while ((n = server!.Receive(buffer, false, wire.Now, out _)) > 0) received += n;
            return received >= data.Length;
        }, TimeSpan.FromHours(1));
        if (!done) return 0;
        return received * 8 / (wire.Now - start).TotalSeconds / 1e6;
    }
}
