using BenchmarkDotNet.Running;
using UserStack.Benchmarks.Macro;

// Micro (BenchmarkDotNet):
//   dotnet run -c Release --project Benchmarks -- --filter '*'
// Macro (root; builds its own namespaces and removes them):
//   dotnet run -c Release --project Benchmarks -- udp-echo [seconds] [payload-bytes]
//   dotnet run -c Release --project Benchmarks -- tcp-bulk [seconds]
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
BenchmarkSwitcher.FromAssembly(typeof(UserStack.Benchmarks.Micro.ChecksumBenchmarks).Assembly).Run(args);
return 0;
