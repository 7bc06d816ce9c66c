using System.CommandLine;
using UserStack.Tools.Labs;

namespace UserStack.Tools.Commands;

/// <summary>`ustack lab`: guided scenarios on two in-memory stacks, printed as an annotated ladder, each ending with a check.</summary>
public static class LabCommand
{
    public static Command Create()
    {
        var name = new Argument<string?>("name") { Description = "the lab to run (see --list)", Arity = ArgumentArity.ZeroOrOne };
        var list = new Option<bool>("--list") { Description = "list the labs" };
        var noPause = new Option<bool>("--no-pause") { Description = "do not wait for Enter between steps (never waits when piped)" };
        var command = new Command("lab", "Guided labs: two in-memory stacks on a scripted wire, step by step, with the annotated ladder and the RFC rules") { name, list, noPause };
        command.SetAction(result =>
        {
            var chosen = result.GetValue(name);
            if (result.GetValue(list) || chosen is null)
            {
                Console.WriteLine("Labs (ustack lab NAME [--no-pause]):");
                LabRunner.List(Console.Out);
                return chosen is null && !result.GetValue(list) ? 2 : 0;
            }
            if (LabRunner.Find(chosen) is not { } lab)
            {
                Console.Error.WriteLine($"ustack lab: no lab named '{chosen}'; known: {string.Join(", ", LabRunner.All.Select(l => l.Name))}");
                return 2;
            }
            bool terminal = !Console.IsInputRedirected && !Console.IsOutputRedirected;
            return LabRunner.Run(lab, Console.Out, new LabRunOptions { Pause = terminal && !result.GetValue(noPause), Colour = ConsoleTrace.ConsoleWantsColour });
        });
        return command;
    }
}
