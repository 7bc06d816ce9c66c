using System.CommandLine;
using UserStack.Tools.Commands;

var root = new RootCommand("ustack: the UserStack command line (a user-space TCP/IP stack on a TAP device)")
{
    UpCommand.Create(),
    DemoCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
