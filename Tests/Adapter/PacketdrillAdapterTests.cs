using System.Diagnostics;

namespace UserStack.Tests.Adapter;

/// <summary>
/// The packetdrill adapter as packetdrill loads it: published with NativeAOT as a shared object,
/// dlopened by a C program of ours (tools/packetdrill-adapter/test/dlopen_test.c) that drives a
/// TCP handshake, poll, readv, write, writev and close through packetdrill's function table. CI has no packetdrill
/// source; tools/packetdrill.sh runs the real packetdrill where it is.
/// </summary>
[Category("Adapter")]
[NonParallelizable]
public class PacketdrillAdapterTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "UserStack.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no UserStack.sln above {AppContext.BaseDirectory}");
    }

    private static (int ExitCode, string Output) Run(string file, IEnumerable<string> arguments, TimeSpan timeout, string? directory = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        if (directory is not null) info.WorkingDirectory = directory;
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, $"{file} did not finish within {timeout.TotalSeconds} s\n{stdout.Result}{stderr.Result}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Test]
    public void A_C_program_dlopens_the_published_adapter_and_drives_a_handshake_poll_readv_writev_and_close()
    {
        var root = RepositoryRoot();
        var temp = Directory.CreateTempSubdirectory("ustack-adapter-");
        try
        {
            // 1. Publish (NativeAOT). Only a missing NativeAOT toolchain skips the test; any other failure fails it.
            var publish = Run("dotnet", ["publish", Path.Combine(root, "tools/packetdrill-adapter/PacketdrillAdapter.csproj"),
                "-c", "Release", "-o", Path.Combine(temp.FullName, "out"), "-nologo"], TimeSpan.FromMinutes(8), root);
            if (publish.ExitCode != 0)
            {
                var toolchain = publish.Output.Split('\n').FirstOrDefault(l =>
                    l.Contains("ILCompiler", StringComparison.OrdinalIgnoreCase) && l.Contains("error", StringComparison.OrdinalIgnoreCase)
                    || l.Contains("NETSDK1183") || l.Contains("NETSDK1203")
                    || l.Contains("clang", StringComparison.OrdinalIgnoreCase) && l.Contains("not found", StringComparison.OrdinalIgnoreCase)
                    || l.Contains("Platform linker", StringComparison.OrdinalIgnoreCase));
                if (toolchain is not null) Assert.Ignore($"NativeAOT publishing is not available here: {toolchain.Trim()}");
                Assert.Fail($"dotnet publish of the adapter failed:\n{publish.Output}");
            }
            var library = Path.Combine(temp.FullName, "out", "libustack-packetdrill.so");
            Assert.That(File.Exists(library), Is.True, $"no {library} after publish:\n{publish.Output}");

            // 2. Compile the C driver.
            var program = Path.Combine(temp.FullName, "dlopen_test");
            var compile = Run("gcc", ["-Wall", "-Werror", "-o", program, Path.Combine(root, "tools/packetdrill-adapter/test/dlopen_test.c"), "-ldl"], TimeSpan.FromMinutes(1));
            Assert.That(compile.ExitCode, Is.Zero, $"gcc failed:\n{compile.Output}");

            // 3. Run it.
            var run = Run(program, [library], TimeSpan.FromMinutes(1));
            TestContext.Out.WriteLine(run.Output);
            Assert.That(run.ExitCode, Is.Zero, run.Output);
            Assert.That(run.Output, Does.Contain("\nPASS\n").And.Not.Contain("FAIL"));
            Assert.That(run.Output, Does.Contain("ok   SYN-ACK acknowledges our ISN + 1").And.Contain("ok   it carries the 100 bytes written"));
            Assert.That(run.Output, Does.Contain("ok   poll(POLLIN) reports the data").And.Contain("ok   readv() filled the first iovec, then the second")
                .And.Contain("ok   writev() sends one segment of the 7 bytes in iovec order"));
        }
        finally
        {
            try { temp.Delete(recursive: true); } catch (IOException) { }
        }
    }
}
