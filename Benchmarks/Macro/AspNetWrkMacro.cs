using Microsoft.AspNetCore.Hosting;
using UserStack.AspNetCore;
using UserStack.Drivers.Tap;
using UserStack.Tools.Scene;
using UserStack.Wire;

namespace UserStack.Benchmarks.Macro;

/// <summary>
/// wrk requests/s against the same ASP.NET Core app (the `ustack up --daemons aspnet` demo, GET /)
/// on Kestrel-on-UserStack over the TAP and on Kestrel's kernel sockets in a second namespace
/// behind a veth pair; wrk runs in the first namespace, rounds alternate, one run. Bounded in time;
/// both namespaces are made here and removed after.
/// </summary>
public static class AspNetWrkMacro
{
    public static int Run(TimeSpan duration, int connections, int threads)
    {
        if (!TapDevice.IsAvailable(out var reason)) { Console.Error.WriteLine($"aspnet-wrk: {reason}"); return 2; }
        if (!Shell.Exists("wrk")) { Console.Error.WriteLine("aspnet-wrk: wrk is not installed (apt-get install wrk)"); return 2; }
        int id = Environment.ProcessId;
        using var scene = TapScene.Start(new SceneOptions
        {
            TapName = $"uswrk{id % 10000}",
            Namespace = $"uswrk-{id}-a",
            StackAddress = Ipv4Cidr.Parse("10.97.0.2/24"),
            HostAddress = Ipv4Cidr.Parse("10.97.0.1/24"),
        });
        var client = scene.Namespace!;

        // The reference: the same app on kernel sockets in namespace B, across a veth pair.
        using var server = NetworkNamespace.Create($"uswrk-{id}-b");
        string va = $"uwva{id % 10000}", vb = $"uwvb{id % 10000}";
        client.Ip("link", "add", va, "type", "veth", "peer", "name", vb, "netns", server.Name);
        client.Ip("addr", "add", "10.97.1.1/24", "dev", va);
        client.Ip("link", "set", va, "up");
        server.Ip("addr", "add", "10.97.1.2/24", "dev", vb);
        server.Ip("link", "set", vb, "up");
        var kernelListener = server.ListenTcp(8080, backlog: 512); // made inside B; Kestrel takes it by handle

        var onStack = WebDemo.Build(scene.Host);
        var onKernel = WebDemo.Build(scene.Host, web => web.ConfigureKestrel(o => o.ListenHandle((ulong)kernelListener.Handle)));
        onStack.StartAsync().GetAwaiter().GetResult();
        onKernel.StartAsync().GetAwaiter().GetResult();
        try
        {
            Console.WriteLine($"wrk -t{threads} -c{connections} -d{duration.TotalSeconds:0}s GET / (the aspnet demo page), from namespace {client.Name}; rounds alternate");
            var rows = new List<(string Name, double Rps, string Latency)>();
            foreach (var url in new[] { "http://10.97.0.2:8080/", "http://10.97.1.2:8080/" }) Wrk(client, url, TimeSpan.FromSeconds(5), connections, threads); // warm-up: JIT and tiered PGO settle (a 2 s warm-up left round 1 on UserStack at half of round 2)
            foreach (var round in new[] { 1, 2 })
            {
                rows.Add(Wrk(client, "http://10.97.0.2:8080/", duration, connections, threads) with { Name = $"Kestrel on UserStack over TAP (round {round})" });
                rows.Add(Wrk(client, "http://10.97.1.2:8080/", duration, connections, threads) with { Name = $"Kestrel on kernel sockets over veth (round {round})" });
            }
            Console.WriteLine();
            Console.WriteLine($"| {"server",-46} | {"requests/s",10} | {"latency avg",11} |");
            Console.WriteLine($"|{new string('-', 48)}|{new string('-', 12)}|{new string('-', 13)}|");
            foreach (var r in rows) Console.WriteLine($"| {r.Name,-46} | {r.Rps,10:N0} | {r.Latency,11} |");
            double us = rows.Where(r => r.Name.Contains("UserStack")).Average(r => r.Rps);
            double kernel = rows.Where(r => r.Name.Contains("kernel")).Average(r => r.Rps);
            Console.WriteLine($"\nratio UserStack / kernel: {us / kernel:0.00} (goal 0.7); stack counters: {scene.Stack.Counters[Diagnostics.Counter.TcpReceived]} segments in, internal errors {scene.Host.InternalErrors}");
            return 0;
        }
        finally
        {
            onStack.StopAsync().GetAwaiter().GetResult();
            onKernel.StopAsync().GetAwaiter().GetResult();
            onStack.DisposeAsync().AsTask().GetAwaiter().GetResult();
            onKernel.DisposeAsync().AsTask().GetAwaiter().GetResult();
            kernelListener.Dispose();
        }
    }

    private static (string Name, double Rps, string Latency) Wrk(NetworkNamespace ns, string url, TimeSpan duration, int connections, int threads)
    {
        try
        {
            var r = Speed.HttpKeepAlive.Measure(ns, url, duration, connections, threads);
            if (r.Errors is not null) Console.WriteLine($"  {url}: {r.Errors}");
            return (url, r.RequestsPerSecond, r.Latency);
        }
        catch (InvalidOperationException e) { Console.WriteLine($"  {url}: {e.Message}"); return (url, 0, "-"); }
    }
}
