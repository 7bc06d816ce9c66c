using System.CommandLine;
using System.Reflection;
using UserStack.Tools.Rfc;

namespace UserStack.Tools.Commands;

/// <summary>`ustack rfc-matrix`: writes docs/rfc-matrix.md from the requirement list and the tests that name each rule.</summary>
public static class RfcMatrixCommand
{
    public static Command Create()
    {
        var output = new Option<string?>("--output", "-o") { Description = $"where to write the matrix (default {RfcMatrix.OutputPath} in the repository)" };
        var tests = new Option<string?>("--tests") { Description = "the built test assembly (default Tests/bin/Debug/net10.0/UserStack.Tests.dll)" };
        var check = new Option<bool>("--check") { Description = "write nothing; exit 1 if the matrix on disk differs from what would be written" };
        var command = new Command("rfc-matrix", "Write docs/rfc-matrix.md: each RFC rule, its status and the tests ([Rfc] attributes, `// rfc:` script lines) that show it") { output, tests, check };
        command.SetAction(result =>
        {
            var root = RfcMatrix.FindRepositoryRoot(Environment.CurrentDirectory);
            if (root is null) { Console.Error.WriteLine("ustack rfc-matrix: run it inside the repository (no UserStack.sln above the current directory)"); return 2; }
            var dll = result.GetValue(tests) ?? Path.Combine(root, "Tests", "bin", "Debug", "net10.0", "UserStack.Tests.dll");
            if (!File.Exists(dll)) { Console.Error.WriteLine($"ustack rfc-matrix: no test assembly at {dll}; build it first: dotnet build Tests/Tests.csproj"); return 2; }
            var matrix = RfcMatrix.Build(root, Assembly.LoadFrom(Path.GetFullPath(dll)));
            foreach (var p in matrix.Problems) Console.Error.WriteLine($"ustack rfc-matrix: {p}");
            var path = result.GetValue(output) ?? Path.Combine(root, RfcMatrix.OutputPath);
            var text = matrix.Render();
            if (result.GetValue(check))
            {
                bool current = File.Exists(path) && File.ReadAllText(path) == text;
                Console.WriteLine(current ? $"{path} is current" : $"{path} is stale: run ustack rfc-matrix");
                return current && matrix.Problems.Count == 0 ? 0 : 1;
            }
            File.WriteAllText(path, text);
            Console.WriteLine($"wrote {path}: {matrix.List.Rows.Count} rules, {matrix.Evidence.Count} test references, {matrix.Problems.Count} problems");
            return matrix.Problems.Count == 0 ? 0 : 1;
        });
        return command;
    }
}
