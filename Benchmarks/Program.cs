using BenchmarkDotNet.Running;
using UserStack.Benchmarks.Macro;
using UserStack.Benchmarks.Macro.Speed;

// Micro (BenchmarkDotNet):
//   dotnet run -c Release --project Benchmarks -- --filter '*'
// Macro (root; builds its own namespaces and removes them):
//   dotnet run -c Release --project Benchmarks -- udp-echo [seconds] [payload-bytes]
//   dotnet run -c Release --project Benchmarks -- tcp-bulk [seconds]
//   dotnet run -c Release --project Benchmarks -- speed-table [seconds=3]   (issue 12's table in one run: TAP ceiling by a C reader
//       (gcc), kernel veth offloads off/on, UserStack both ways, ping, connections/s, wrk keep-alive, two stacks in memory)
//   dotnet run -c Release --project Benchmarks -- aspnet-wrk [seconds=5] [connections=64] [threads=2]   (apt-get install wrk)
//   dotnet run -c Release --project Benchmarks -- conn-memory [idle=10000] [closed=5000]
//   dotnet run -c Release --project Benchmarks -- lossy-goodput [mb=20] [loss=0,1,3] [delay=10ms] [seed=1] [cc=newreno|cubic] [limit=60s]
// Two stacks in memory on one thread (no root), the speed table's last rows alone:
//   dotnet run -c Release --project Benchmarks -- in-memory [seconds=3]
// Macro on the virtual wire (no root; virtual clock):
//   dotnet run -c Release --project Benchmarks -- lossy-sim [megabytes] [seeds]
if (args.Length > 0 && args[0] == "udp-echo")
{
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
    var payload = args.Length > 2 ? int.Parse(args[2]) : 64;
    return UdpEchoMacro.Run(TimeSpan.FromSeconds(Math.Clamp(seconds, 0.5, 60)), Math.Clamp(payload, 0, 1472));
}
if (args.Length > 0 && args[0] == "tcp-bulk")
{
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
    return TcpBulkMacro.Run(TimeSpan.FromSeconds(Math.Clamp(seconds, 0.5, 60)));
}
if (args.Length > 0 && args[0] == "speed-table")
{
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
    return SpeedTableMacro.Run(TimeSpan.FromSeconds(Math.Clamp(seconds, 0.5, 60)));
}
if (args.Length > 0 && args[0] == "in-memory")
{
    // The speed table's in-memory row alone (no root): for a profiler (perf record -g with DOTNET_PerfMapEnabled=1).
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
    var r = UserStack.Benchmarks.Macro.Speed.InMemoryBulk.Measure(TimeSpan.FromSeconds(Math.Clamp(seconds, 0.5, 60)));
    Console.WriteLine($"two stacks in memory, one core: {r.Gbps:0.00} Gbit/s, {r.NanosecondsPerSegment:0} ns per data segment, {r.BytesPerSegment:0.##} B per segment; {r.Note}");
    return 0;
}
if (args.Length > 0 && args[0] == "aspnet-wrk")
{
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
    var connections = args.Length > 2 ? int.Parse(args[2]) : 64;
    var threads = args.Length > 3 ? int.Parse(args[3]) : 2;
    return AspNetWrkMacro.Run(TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 60)), Math.Clamp(connections, 1, 1000), Math.Clamp(threads, 1, Math.Min(connections, 16)));
}
if (args.Length > 0 && args[0] == "conn-memory")
{
    var idle = args.Length > 1 ? int.Parse(args[1]) : 10000;
    var closed = args.Length > 2 ? int.Parse(args[2]) : 5000;
    return UserStack.Benchmarks.Macro.ConnMemory.ConnMemoryMacro.Run(Math.Clamp(idle, 1, 20000), Math.Clamp(closed, 1, 20000));
}
if (args.Length > 2 && args[0] == "conn-memory-phase") // one phase of conn-memory, in a process of its own
    return UserStack.Benchmarks.Macro.ConnMemory.ConnMemoryMacro.RunPhase(args[1], Math.Clamp(int.Parse(args[2]), 1, 20000));
if (args.Length > 0 && args[0] == "lossy-sim")
{
    var megabytes = args.Length > 1 ? int.Parse(args[1]) : 4;
    var seeds = args.Length > 2 ? int.Parse(args[2]) : 5;
    return LossySimMacro.Run(Math.Clamp(megabytes, 1, 64), Math.Clamp(seeds, 1, 50));
}
if (args.Length > 0 && args[0] == "lossy-goodput")
{
    LossyGoodputMacro.Settings settings;
    try { settings = LossyGoodputMacro.Settings.Parse(args.Skip(1)); }
    catch (FormatException e) { Console.Error.WriteLine($"lossy-goodput: {e.Message}"); return 2; }
    return LossyGoodputMacro.Run(settings);
}
BenchmarkSwitcher.FromAssembly(typeof(UserStack.Benchmarks.Micro.ChecksumBenchmarks).Assembly).Run(args);
return 0;
