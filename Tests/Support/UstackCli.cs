using System.Diagnostics;

namespace UserStack.Tests.Support;

/// <summary>The built `ustack` command line, run as a user runs it: a separate `dotnet ustack.dll` process.</summary>
public static class UstackCli
{
    /// <summary>ustack.dll beside the tests (Tests.csproj references the tool).</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "ustack.dll");

    /// <summary>`dotnet ustack.dll ARGUMENTS` with standard output and error (and, if asked, input) redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, bool redirectInput = false)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = redirectInput, UseShellExecute = false };
        info.ArgumentList.Add(Dll);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        return info;
    }

    public static Process Start(params string[] arguments) => Process.Start(StartInfo(arguments))!;
}
