using System.Runtime.InteropServices;
using UserStack.Sockets.Control;
using UserStack.Tests.Support;
using UserStack.Tools.Scene;

namespace UserStack.Tests.Control;

/// <summary>The control socket's protocol and its one rule of access (SO_PEERCRED), in a private directory: no root needed.</summary>
public partial class ControlServerTests
{
    [LibraryImport("libc")]
    private static partial uint geteuid();

    private string directory = "";

    [SetUp]
    public void MakeDirectory() => directory = Directory.CreateTempSubdirectory("ustack-control-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(directory, recursive: true);

    private static ControlServer StartOn(string path, HostedPair pair, uint uid, List<string>? log = null) =>
        ControlServer.Start(path, () => StackSnapshot.Take(pair.B), uid, line => { lock (log ?? []) log?.Add(line); });

    [Test]
    public void The_allowed_user_gets_one_snapshot_line_from_a_0600_socket_that_is_removed_on_dispose()
    {
        using var pair = new HostedPair();
        var path = Path.Combine(directory, "tap9.sock");
        using (var server = StartOn(path, pair, geteuid()))
        {
            Assert.That(OperatingSystem.IsLinux() ? File.GetUnixFileMode(path) : UnixFileMode.None, Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            var snapshot = ControlClient.Snapshot(path);
            Assert.That(snapshot.ProcessId, Is.EqualTo(Environment.ProcessId));
            Assert.That(snapshot.Interfaces.Single().Address, Is.EqualTo($"{HostedPair.AddressB}/24"));
            Assert.That(ControlClient.Snapshot(path).UptimeSeconds, Is.GreaterThanOrEqualTo(snapshot.UptimeSeconds), "a second client, a fresh snapshot");
            // Counted once the reply's send returns, which can be after the client has read it.
            Assert.That(() => (server.Answered, server.Refused), Is.EqualTo((2L, 0L)).After(2000, 10));
        }
        Assert.That(File.Exists(path), Is.False, "the socket file goes with the server");
    }

    [Test]
    public void Another_user_is_closed_on_unanswered_counted_and_logged()
    {
        using var pair = new HostedPair();
        var path = Path.Combine(directory, "tap9.sock");
        var log = new List<string>();
        using var server = StartOn(path, pair, geteuid() + 1, log);
        var e = Assert.Throws<ControlException>(() => ControlClient.Snapshot(path));
        Assert.That(e!.Message, Does.Contain("closed without answering"));
        Assert.That((server.Answered, server.Refused), Is.EqualTo((0L, 1L)));
        lock (log) Assert.That(log, Has.One.Contains($"refused a client (pid {Environment.ProcessId}, uid {geteuid()})"));
    }

    [Test]
    public void An_unknown_request_gets_an_error_line_naming_the_one_request()
    {
        using var pair = new HostedPair();
        var path = Path.Combine(directory, "tap9.sock");
        using var server = StartOn(path, pair, geteuid());
        var line = ControlClient.Request(path, "sockets please", TimeSpan.FromSeconds(5));
        var error = System.Text.Json.JsonSerializer.Deserialize(line, ControlJson.Default.ControlError);
        Assert.That(error!.Error, Is.EqualTo("unknown request 'sockets please': the only request is 'snapshot'"));
        Assert.That(line, Does.StartWith("{\"error\":").And.Not.Contain("\n"));
    }

    [Test]
    public void A_second_server_on_a_live_path_is_refused_and_a_stale_socket_file_is_replaced()
    {
        using var pair = new HostedPair();
        var path = Path.Combine(directory, "tap9.sock");
        using (StartOn(path, pair, geteuid()))
        {
            Assert.Throws<IOException>(() => StartOn(path, pair, geteuid()));
            Assert.That(ControlServer.PathFor("tap9", directory), Is.EqualTo(Path.Combine(directory, $"tap9.{Environment.ProcessId}.sock")),
                "a live stack holds the plain name: the next one adds its process id");
        }
        // A socket file nobody listens on, as a killed stack leaves it (.NET unlinks the files of the sockets it bound, so another process makes it).
        var made = Shell.Run("/usr/bin/python3", "-c", $"import socket; socket.socket(socket.AF_UNIX).bind('{path}')");
        Assert.That(File.Exists(path), Is.True, made.Error);
        Assert.That(ControlServer.PathFor("tap9", directory), Is.EqualTo(path));
        using var server = StartOn(path, pair, geteuid());
        Assert.That(ControlClient.Snapshot(path).Sockets, Is.Empty);
    }

    [Test]
    public void Without_socket_the_client_takes_the_only_one_and_lists_them_when_there_are_several()
    {
        var none = Assert.Throws<ControlException>(() => ControlClient.Choose(null, directory));
        Assert.That(none!.Message, Does.Contain("no running stack"));
        File.WriteAllText(Path.Combine(directory, "a.sock"), "");
        Assert.That(ControlClient.Choose(null, directory), Is.EqualTo(Path.Combine(directory, "a.sock")));
        Assert.That(ControlClient.Choose("/elsewhere.sock", directory), Is.EqualTo("/elsewhere.sock"));
        File.WriteAllText(Path.Combine(directory, "b.sock"), "");
        var several = Assert.Throws<ControlException>(() => ControlClient.Choose(null, directory));
        Assert.That(several!.Message, Does.Contain("--socket").And.Contain("a.sock").And.Contain("b.sock"));
    }

    [Test, NonParallelizable] // it borrows Console.Out
    public async Task Top_with_iterations_draws_that_many_plain_snapshots_and_rates_from_the_second_on()
    {
        using var pair = new HostedPair();
        var path = Path.Combine(directory, "tap9.sock");
        using var server = StartOn(path, pair, geteuid());
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        int exit;
        try { exit = await UserStack.Tools.Commands.TopCommand.Run(path, TimeSpan.FromMilliseconds(50), 3, CancellationToken.None, plain: true); }
        finally { Console.SetOut(saved); }
        Assert.That(exit, Is.Zero);
        var text = output.ToString();
        Assert.That(System.Text.RegularExpressions.Regex.Matches(text, @"ustack top: pid \d+, up [\d.]+ s, every 0\.05 s").Count, Is.EqualTo(3), text);
        Assert.That(System.Text.RegularExpressions.Regex.Matches(text, @"FramesReceived +\d+ +\d+").Count, Is.EqualTo(2), "a rate needs a snapshot before it");
        Assert.That(() => server.Answered, Is.EqualTo(3).After(2000, 10)); // counted after the send returns
    }
}
