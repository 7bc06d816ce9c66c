using System.Diagnostics;

namespace UserStack.Tools.Scene;

/// <summary>The result of one external command.</summary>
public sealed record CommandResult(string Command, int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;
    public CommandResult ThrowIfFailed() =>
        Succeeded ? this : throw new InvalidOperationException($"'{Command}' failed ({ExitCode}): {Error.Trim()}{(Error.Length == 0 ? Output.Trim() : "")}");
}

/// <summary>Runs external programs (ip, ping, ...) with a time limit and captured output.</summary>
public static class Shell
{
    public static CommandResult Run(string program, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        var text = program + " " + string.Join(' ', info.ArgumentList);
        using var process = new Process { StartInfo = info };
        try { process.Start(); }
        catch (System.ComponentModel.Win32Exception e) { return new CommandResult(text, 127, "", $"{program}: {e.Message}"); }
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit();
            return new CommandResult(text, 124, output.Result, error.Result + $"\n(timed out after {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds} s)");
        }
        return new CommandResult(text, process.ExitCode, output.Result, error.Result);
    }

    public static CommandResult Run(string program, params string[] arguments) => Run(program, (IEnumerable<string>)arguments);

    /// <summary>Whether a program is on PATH.</summary>
    public static bool Exists(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, program)));
}
