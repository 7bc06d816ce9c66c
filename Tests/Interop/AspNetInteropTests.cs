using System.Diagnostics;
using System.Security.Cryptography;
using UserStack.AspNetCore;
using UserStack.Sockets.Http;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>
/// ASP.NET Core and HttpClient on UserStack against the Linux kernel over a real TAP in a private
/// namespace: kernel curl against Kestrel-on-UserStack, HttpClient-on-UserStack against a kernel
/// python http.server, both in-process and through the ustack commands.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class AspNetInteropTests
{
    private const int OneMegabyte = 1 << 20;
    private static string StackIp => TapFixture.StackAddress.Address.ToString();
    private static string HostIp => TapFixture.HostAddress.Address.ToString();

    /// <summary>Debian's python3 when there is one (the PATH one may be a pyenv shim); http.server is in the standard library either way.</summary>
    private static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ustest-aspnet-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Test]
    public async Task Kernel_curl_gets_the_page_and_echoes_a_megabyte_through_kestrel_on_userstack()
    {
        Root.Require("curl");
        using var scene = TapFixture.Start();
        var app = WebDemo.Build(scene.Host);
        await app.StartAsync();
        await using var _ = app;
        var dir = TempDir();
        try
        {
            var page = scene.HostExec(TimeSpan.FromSeconds(30), "curl", "-sS", "-f", "-m", "20", $"http://{StackIp}:8080/");
            Assert.That(page.ExitCode, Is.Zero, page.Error);
            Assert.That(page.Output, Does.Contain("ASP.NET Core on UserStack").And.Contain($"to {HostIp}:"));

            var table = scene.HostExec(TimeSpan.FromSeconds(30), "curl", "-sS", "-f", "-m", "20", $"http://{StackIp}:8080/api/connections");
            Assert.That(table.Output, Does.Contain($"\"remote\":\"{HostIp}:").And.Contain("\"state\":\"Established\""), table.Error);

            var upload = Path.Combine(dir, "up.bin");
            var download = Path.Combine(dir, "down.bin");
            File.WriteAllBytes(upload, RandomNumberGenerator.GetBytes(OneMegabyte));
            var echo = scene.HostExec(TimeSpan.FromSeconds(60), "curl", "-sS", "-f", "-m", "50", "--data-binary", $"@{upload}", "-H", "Content-Type: application/octet-stream",
                "-o", download, "-w", "%{http_code} %{size_upload} %{size_download}", $"http://{StackIp}:8080/api/echo");
            Assert.That(echo.ExitCode, Is.Zero, echo.Error);
            Assert.That(echo.Output, Is.EqualTo($"200 {OneMegabyte} {OneMegabyte}"));
            Assert.That(Sha(download), Is.EqualTo(Sha(upload)), "1 MB up and back, SHA-256");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void Ustack_up_with_daemons_all_and_aspnet_serves_kernel_curl_on_8080_and_80()
    {
        Root.Require("curl");
        var (tap, ns) = TapFixture.NewNames();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { UstackCli.Dll, "up", "--tap", tap, "--ip", "10.89.1.2/24", "--host-ip", "10.89.1.1/24", "--netns", ns, "--daemons", "all,aspnet" })
            info.ArgumentList.Add(a);
        using var up = Process.Start(info)!;
        var errors = up.StandardError.ReadToEndAsync();
        try
        {
            var ready = up.StandardOutput.ReadLineAsync();
            if (!ready.Wait(TimeSpan.FromSeconds(60))) Assert.Fail("no ready line within 60 s");
            Assert.That(ready.Result, Does.Contain("daemons=echo/7,discard/9,daytime/13,chargen/19,http/80,aspnet/8080"));
            var page = Shell.Run("ip", ["netns", "exec", ns, "curl", "-sS", "-f", "-m", "20", "http://10.89.1.2:8080/"], TimeSpan.FromSeconds(30));
            Assert.That(page.Output, Does.Contain("ASP.NET Core on UserStack"), page.Error);
            var classic = Shell.Run("ip", ["netns", "exec", ns, "curl", "-sS", "-f", "-m", "20", "http://10.89.1.2/"], TimeSpan.FromSeconds(30));
            Assert.That(classic.Output, Does.Contain("<h1>UserStack</h1>"), classic.Error);
        }
        finally
        {
            Shell.Run("kill", "-INT", up.Id.ToString());
            if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
        }
        Assert.That(up.ExitCode, Is.Zero, errors.Result);
        Assert.That(NetworkNamespace.Exists(ns), Is.False, "the namespace it created is gone");
    }

    /// <summary>`python3 -m http.server` serving <paramref name="dir"/> on 8000 inside <paramref name="ns"/>, stopped on dispose.</summary>
    private sealed class KernelHttpServer : IDisposable
    {
        private readonly Process process;

        public KernelHttpServer(string ns, string dir)
        {
            var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "netns", "exec", ns, Python, "-m", "http.server", "8000", "--directory", dir }) info.ArgumentList.Add(a);
            process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            // Ready when the namespace has a listener on 8000.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!Shell.Run("ip", ["netns", "exec", ns, "ss", "-ltnH", "sport = :8000"]).Output.Contains("8000"))
            {
                if (process.HasExited || DateTime.UtcNow > until) throw new InvalidOperationException($"python3 -m http.server did not start in {ns}");
                Thread.Sleep(100);
            }
        }

        public void Dispose()
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit(5000);
            process.Dispose();
        }
    }

    [Test]
    public async Task HttpClient_on_userstack_gets_a_megabyte_from_a_kernel_python_http_server()
    {
        Root.Require(Python, "ss");
        using var scene = TapFixture.Start();
        var dir = TempDir();
        try
        {
            var data = RandomNumberGenerator.GetBytes(OneMegabyte);
            File.WriteAllBytes(Path.Combine(dir, "mb.bin"), data);
            using var server = new KernelHttpServer(scene.Namespace!.Name, dir);
            using var client = UserStackHttp.CreateClient(scene.Host, TimeSpan.FromSeconds(60));
            var body = await client.GetByteArrayAsync($"http://{HostIp}:8000/mb.bin");
            Assert.That(SHA256.HashData(body), Is.EqualTo(SHA256.HashData(data)));
            var listing = await client.GetStringAsync($"http://{HostIp}:8000/");
            Assert.That(listing, Does.Contain("mb.bin"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void Ustack_fetch_gets_a_megabyte_from_a_kernel_python_http_server()
    {
        Root.Require(Python, "ss");
        var (tap, nsName) = TapFixture.NewNames();
        using var ns = NetworkNamespace.Create(nsName); // ours: ustack fetch uses it and leaves it
        var dir = TempDir();
        try
        {
            var data = RandomNumberGenerator.GetBytes(OneMegabyte);
            File.WriteAllBytes(Path.Combine(dir, "mb.bin"), data);
            using var server = new KernelHttpServer(ns.Name, dir);
            var output = Path.Combine(dir, "got.bin");
            var fetch = Shell.Run("dotnet", [UstackCli.Dll, "fetch", "--tap", tap, "--ip", "10.89.2.2/24", "--host-ip", "10.89.2.1/24",
                "--netns", ns.Name, "-v", "-o", output, "http://10.89.2.1:8000/mb.bin"], TimeSpan.FromSeconds(90));
            Assert.That(fetch.ExitCode, Is.Zero, fetch.Error);
            Assert.That(fetch.Error, Does.Contain("< HTTP/1.0 200 OK").And.Contain($"< Content-Length: {OneMegabyte}"));
            Assert.That(Sha(output), Is.EqualTo(Convert.ToHexString(SHA256.HashData(data))));

            var refused = Shell.Run("dotnet", [UstackCli.Dll, "fetch", "--tap", tap, "--ip", "10.89.2.2/24", "--host-ip", "10.89.2.1/24",
                "--netns", ns.Name, "http://10.89.2.1:8001/"], TimeSpan.FromSeconds(90));
            Assert.That(refused.ExitCode, Is.EqualTo(7), "connection refused is curl's 7");
        }
        finally { Directory.Delete(dir, true); }
    }
}
