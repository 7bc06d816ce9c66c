using System.Runtime.InteropServices;
using UserStack.Tools.Scene;

namespace UserStack.Benchmarks.Macro.Speed;

/// <summary>The line above a results table: when, which kernel, which CPU and how many cores, which .NET.</summary>
public static class MachineDescription
{
    public static string Line()
    {
        string kernel = Shell.Run("uname", "-r").Output.Trim();
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        return $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, kernel {kernel}, {cpu}, {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}";
    }
}
