using System.CommandLine;
using UserStack.Sockets.Control;
using UserStack.Tools.Control;

namespace UserStack.Tools.Commands;

/// <summary>`ustack netstat`: the sockets of a running `ustack up`, like `ss -tani`, read from its control socket.</summary>
public static class NetstatCommand
{
    public static Command Create()
    {
        var socket = SocketOption();
        var json = new Option<bool>("--json") { Description = "print the control socket's answer as it came: one JSON line (snake_case fields; see docs/control-socket.md)" };
        var command = new Command("netstat", "List the sockets of a running stack (TCP with cwnd, ssthresh, srtt, rto, retransmits, options), like ss -tani") { socket, json };
        command.SetAction(result =>
        {
            try
            {
                var path = ControlClient.Choose(result.GetValue(socket));
                if (result.GetValue(json))
                {
                    var line = ControlClient.Request(path, ControlServer.SnapshotRequest, TimeSpan.FromSeconds(5));
                    ControlClient.Parse(path, line); // a snapshot, not an error
                    Console.WriteLine(line);
                }
                else Console.Write(SocketTable.Format(ControlClient.Snapshot(path)));
                return 0;
            }
            catch (ControlException e)
            {
                Console.Error.WriteLine($"ustack netstat: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>--socket PATH, shared with `ustack top`.</summary>
    internal static Option<string?> SocketOption() => new("--socket")
    {
        Description = $"the control socket of the stack to ask (default: the only one under {ControlServer.DefaultDirectory})",
    };
}
