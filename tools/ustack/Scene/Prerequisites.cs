namespace UserStack.Tools.Scene;

/// <summary>
/// The Debian packages the demo needs on the host side. A fresh Debian 12 may lack them
/// (iputils-ping is not in minimal images), so as root the demo installs what is missing,
/// saying so, rather than failing on its first run.
/// </summary>
public static class Prerequisites
{
    private static readonly (string Program, string Package)[] Known = [("ip", "iproute2"), ("ping", "iputils-ping")];

    /// <summary>True when every program is there afterwards; <paramref name="problem"/> says what is missing otherwise.</summary>
    public static bool Ensure(TextWriter output, out string problem, params string[] programs)
    {
        var missing = Known.Where(k => programs.Contains(k.Program) && !Shell.Exists(k.Program)).Select(k => k.Package).Distinct().ToArray();
        problem = "";
        if (missing.Length == 0) return true;
        if (Environment.UserName != "root" || !Shell.Exists("apt-get"))
        {
            problem = $"missing {string.Join(", ", missing)} (apt-get install {string.Join(' ', missing)})";
            return false;
        }
        output.WriteLine($"installing {string.Join(", ", missing)} (apt-get) ...");
        string[] install = ["install", "-y", "-q", "--no-install-recommends", .. missing];
        var env = "DEBIAN_FRONTEND=noninteractive";
        if (!Shell.Run("env", [env, "apt-get", .. install], TimeSpan.FromMinutes(5)).Succeeded)
        {
            Shell.Run("env", [env, "apt-get", "update", "-q"], TimeSpan.FromMinutes(5));
            var second = Shell.Run("env", [env, "apt-get", .. install], TimeSpan.FromMinutes(5));
            if (!second.Succeeded) { problem = $"could not install {string.Join(", ", missing)}: {second.Error.Trim()}"; return false; }
        }
        if (programs.All(Shell.Exists)) return true;
        problem = "installed, but still not on PATH";
        return false;
    }
}
