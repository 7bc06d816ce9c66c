using System.CommandLine;
using UserStack.Tools.Commands;

var root = new RootCommand("ustack: the UserStack command line (a user-space TCP/IP stack on a TAP device)")
{
    UpCommand.Create(),
    DemoCommand.Create(),
    PingCommand.Create(),
    FetchCommand.Create(),
    BridgeCommand.Create(),
    DrillCommand.Create(),
    NetstatCommand.Create(),
    TopCommand.Create(),
    LabCommand.Create(),
    RfcMatrixCommand.Create(),
    DiagramCommand.Create(),
    GraphCommand.Create(),
};
// Commands handle SIGINT/SIGTERM themselves so that they always tear down what they set up.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
