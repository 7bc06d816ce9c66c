using System.CommandLine;
using System.Runtime.InteropServices;
using Spectre.Console;
using UserStack.Sockets.Control;
using UserStack.Tools.Control;

namespace UserStack.Tools.Commands;

/// <summary>`ustack top`: a refreshing table of a running stack's sockets and interface counters (Spectre.Console), from its control socket.</summary>
public static class TopCommand
{
    public static Command Create()
    {
        var socket = NetstatCommand.SocketOption();
        var interval = new Option<double>("--interval") { Description = "seconds between refreshes", DefaultValueFactory = _ => 1 };
        var iterations = new Option<int?>("--iterations", "-n") { Description = "stop after this many refreshes (default: until Ctrl-C)" };
        var command = new Command("top", "A live table of a running stack's sockets and interface counters") { socket, interval, iterations };
        command.SetAction(async (result, cancel) =>
        {
            var seconds = result.GetValue(interval);
            if (!(seconds > 0 && seconds <= 3600)) { Console.Error.WriteLine("ustack top: --interval takes seconds, more than 0 and at most 3600"); return 2; }
            if (result.GetValue(iterations) is < 1) { Console.Error.WriteLine("ustack top: --iterations takes a count of 1 or more"); return 2; }
            try
            {
                var path = ControlClient.Choose(result.GetValue(socket));
                return await Run(path, TimeSpan.FromSeconds(seconds), result.GetValue(iterations), cancel);
            }
            catch (ControlException e)
            {
                Console.Error.WriteLine($"ustack top: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Live on a terminal; when output is redirected (or <paramref name="plain"/>), one plain table per refresh, one after the other, on Console.Out.</summary>
    public static async Task<int> Run(string path, TimeSpan interval, int? iterations, CancellationToken cancel, bool? plain = null)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        var first = ControlClient.Snapshot(path); // fails before the screen is taken
        if (plain ?? Console.IsOutputRedirected)
        {
            var text = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(Console.Out),
            });
            text.Profile.Width = 200;
            await Loop(path, first, interval, iterations, stop.Token, view => { text.Write(view); text.WriteLine(); });
        }
        else
        {
            await AnsiConsole.Live(new Text("")).AutoClear(false).StartAsync(async live =>
                await Loop(path, first, interval, iterations, stop.Token, view => { live.UpdateTarget(view); live.Refresh(); }));
        }
        return 0;
    }

    private static async Task Loop(string path, StackSnapshot first, TimeSpan interval, int? iterations, CancellationToken stop,
        Action<Spectre.Console.Rendering.IRenderable> show)
    {
        StackSnapshot? before = null;
        var now = first;
        for (int i = 1; ; i++)
        {
            show(TopView.Render(now, before, interval));
            if (i == iterations || stop.IsCancellationRequested) return;
            try { await Task.Delay(interval, stop); }
            catch (OperationCanceledException) { return; }
            before = now;
            now = ControlClient.Snapshot(path);
        }
    }
}
