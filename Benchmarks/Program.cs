using BenchmarkDotNet.Running;

// dotnet run -c Release --project Benchmarks -- --filter '*'       (all micro benchmarks)
// dotnet run -c Release --project Benchmarks -- --filter '*Checksum*'
BenchmarkSwitcher.FromAssembly(typeof(UserStack.Benchmarks.Micro.ChecksumBenchmarks).Assembly).Run(args);
