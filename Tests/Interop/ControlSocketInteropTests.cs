using System.Diagnostics;
using System.Text.RegularExpressions;
using UserStack.Sockets.Control;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Interop;

/// <summary>
/// `ustack netstat` and `ustack top` against a running `ustack up` (a separate process, as a user
/// runs them): they list a connection the kernel opened from the namespace, with its TCP numbers;
/// the control socket is root's alone (0600 in a 0700 directory, and SO_PEERCRED) and goes when up ends.
/// </summary>
[Category("Interop")]
[NonParallelizable]
public class ControlSocketInteropTests
{
    private const string Python = "/usr/bin/python3";
    private const string StackIp = "10.94.0.2", HostIp = "10.94.0.1";

    [SetUp]
    public void RequireRoot() => Root.Require(Python);

    private static ProcessStartInfo Ustack(params string[] arguments) => UstackCli.StartInfo(arguments, redirectInput: true);

    private static UnixFileMode Mode(string path) => OperatingSystem.IsLinux() ? File.GetUnixFileMode(path) : UnixFileMode.None;

    private static CommandResult Run(params string[] arguments) =>
        Shell.Run("dotnet", new[] { UstackCli.Dll }.Concat(arguments), TimeSpan.FromSeconds(60));

    // Euid nobody (what SO_PEERCRED reports) with fsuid root, so that the 0700 directory and 0600
    // file do not stop it first: only the server's credential check stands in the way.
    private const string NobodyWithRootFiles = """
        import ctypes, os, socket, sys
        libc = ctypes.CDLL(None, use_errno=True)
        os.setresgid(65534, 65534, 0); os.setresuid(65534, 65534, 0)
        libc.setfsuid(0)
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
        try:
            s.sendall(b"snapshot\n"); data = s.recv(65536)
        except ConnectionError:  # reset, or a broken pipe when the server closed before the request went
            data = b""
        print("euid", os.geteuid(), "answer", len(data))
        """;

    // Plain nobody: the file system refuses before the server sees anything.
    private const string PlainNobody = """
        import os, socket, sys
        os.setgid(65534); os.setuid(65534)
        try:
            socket.socket(socket.AF_UNIX).connect(sys.argv[1]); print("connected")
        except PermissionError:
            print("EACCES")
        """;

    // A kernel TCP client in the namespace: connects to the echo port, prints its port, holds the connection until stdin closes.
    private const string HoldConnection = """
        import socket, sys
        s = socket.create_connection((sys.argv[1], 7), timeout=10)
        s.sendall(b"hello"); s.recv(5)
        print(s.getsockname()[1], flush=True)
        sys.stdin.read()
        """;

    [Test]
    public void Netstat_and_top_show_a_kernel_connection_with_cwnd_srtt_rto_and_only_root_is_answered()
    {
        var (tap, ns) = TapFixture.NewNames();
        var path = $"{ControlServer.DefaultDirectory}/{tap}.sock";
        using var up = Process.Start(Ustack("up", "--tap", tap, "--ip", $"{StackIp}/24", "--host-ip", $"{HostIp}/24", "--netns", ns, "--daemons", "echo"))!;
        var errors = up.StandardError.ReadToEndAsync();
        Process? holder = null;
        try
        {
            var readyTask = up.StandardOutput.ReadLineAsync();
            if (!readyTask.Wait(TimeSpan.FromSeconds(30))) Assert.Fail("no ready line within 30 s");
            Assert.That(readyTask.Result, Does.StartWith($"ready ip={StackIp}/24"));
            Assert.That(Mode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "socket 0600");
            Assert.That(Mode(ControlServer.DefaultDirectory), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute), "directory 0700");

            var hold = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var a in new[] { "netns", "exec", ns, Python, "-c", HoldConnection, StackIp }) hold.ArgumentList.Add(a);
            holder = Process.Start(hold)!;
            var portTask = holder.StandardOutput.ReadLineAsync();
            if (!portTask.Wait(TimeSpan.FromSeconds(20))) Assert.Fail("the kernel client did not connect within 20 s");
            var port = int.Parse(portTask.Result!);
            var row = $@"^tcp +ESTABLISHED +0 +0 +{Regex.Escape(StackIp)}:7 +{Regex.Escape(HostIp)}:{port}$";

            var netstat = Run("netstat", "--socket", path);
            Assert.That(netstat.ExitCode, Is.Zero, netstat.Error);
            var lines = netstat.Output.Split('\n');
            int i = Array.FindIndex(lines, l => Regex.IsMatch(l, row));
            Assert.That(i, Is.GreaterThan(0), netstat.Output);
            Assert.That(lines[i + 1], Does.Match(@"^\t\w+ .*rto:\d+(\.\d+)? rtt:\d+(\.\d+)?/\d+(\.\d+)? mss:\d+ cwnd:\d+ .*retrans:\d+/\d+"), netstat.Output);
            Assert.That(lines, Has.Some.Match(@"^tcp +LISTEN +0 +\d+ +0\.0\.0\.0:7 +\*$"));
            Assert.That(lines, Has.Some.Match(@"^udp +UNCONN +0 +0 +0\.0\.0\.0:7 +\*$"));

            var json = Run("netstat", "--json", "--socket", path);
            Assert.That(json.ExitCode, Is.Zero, json.Error);
            Assert.That(json.Output.TrimEnd('\n'), Does.Not.Contain("\n"), "one line");
            var snapshot = ControlClient.Parse(path, json.Output.Trim());
            var connection = snapshot.Sockets.Single(s => s.Remote == $"{HostIp}:{port}");
            Assert.That(connection.Tcp!.SrttMs, Is.GreaterThan(0), "an RTT was measured during the echo");
            Assert.That(snapshot.Interfaces[0].Name, Is.EqualTo(tap));
            Assert.That(snapshot.Interfaces[0].FramesIn, Is.GreaterThanOrEqualTo(4), "ARP, SYN, ACK, data at least");

            var top = Run("top", "--iterations", "1", "--socket", path);
            Assert.That(top.ExitCode, Is.Zero, top.Error);
            Assert.That(top.Output, Does.Match($@"tcp +ESTABLISHED +0 +0 +{Regex.Escape(StackIp)}:7 → {Regex.Escape(HostIp)}:{port} *\n +\w+ .*rto:\d+(\.\d+)? rtt:[\d.]+/[\d.]+ mss:\d+ cwnd:\d+ "), top.Output);
            Assert.That(top.Output, Does.Contain(tap).And.Contain("FramesReceived"));
            Assert.That(top.Output, Does.Not.Contain("\u001b"), "plain when piped");

            var refused = Shell.Run(Python, ["-c", NobodyWithRootFiles, path], TimeSpan.FromSeconds(20));
            Assert.That(refused.Output.Trim(), Is.EqualTo("euid 65534 answer 0"), refused.Error);
            var denied = Shell.Run(Python, ["-c", PlainNobody, path], TimeSpan.FromSeconds(20));
            Assert.That(denied.Output.Trim(), Is.EqualTo("EACCES"), denied.Error);
            Assert.That(Run("netstat", "--socket", path).ExitCode, Is.Zero, "root is still answered after a refusal");
        }
        finally
        {
            if (holder is not null)
            {
                holder.StandardInput.Close();
                if (!holder.WaitForExit(TimeSpan.FromSeconds(10))) holder.Kill(entireProcessTree: true);
                holder.Dispose();
            }
            Shell.Run("kill", "-INT", up.Id.ToString());
            if (!up.WaitForExit(TimeSpan.FromSeconds(20))) up.Kill(entireProcessTree: true);
        }
        Assert.That(up.ExitCode, Is.Zero, errors.Result);
        Assert.That(File.Exists(path), Is.False, "the control socket is removed when up ends");
        Assert.That(errors.Result, Does.Contain("control socket: refused a client").And.Contain("uid 65534"));
        Assert.That(NetworkNamespace.Exists(ns), Is.False);
    }

    [Test]
    public void Netstat_without_a_stack_at_the_path_says_so_and_exits_1()
    {
        var r = Run("netstat", "--socket", $"{ControlServer.DefaultDirectory}/no-such-stack.sock");
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Error.Trim(), Does.StartWith("ustack netstat: cannot reach the stack at /run/ustack/no-such-stack.sock"));
    }
}
