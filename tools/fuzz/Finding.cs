using System.Text.RegularExpressions;

namespace UserStack.Fuzz;

/// <summary>A crash: what broke (a signature that groups the same bug) and the smallest input known to show it.</summary>
public sealed partial record Finding(string Signature, string Message, byte[] Input)
{
    /// <summary>
    /// The exception's type and the first frame in UserStack's core, or an invariant's message
    /// with its numbers taken out: the same bug found twice gives the same signature.
    /// </summary>
    public static string SignatureOf(Exception e)
    {
        if (e is InvariantViolation) return "invariant: " + Numbers().Replace(e.Message, "#");
        var frame = (e.StackTrace ?? "").Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("at UserStack.") && !l.StartsWith("at UserStack.Fuzz.")) ?? "?";
        frame = Regex.Replace(frame, @" in .*$", "");
        return $"{e.GetType().Name} {frame}";
    }

    /// <summary>Runs an input; the signature of what it crashed with, or null.</summary>
    public static string? Crash(byte[] input, TransitionMap? map = null)
    {
        try { Harness.RunInput(input, map); return null; }
        catch (Exception e) { return SignatureOf(e); }
    }

    [GeneratedRegex(@"-?\d+(\.\d+)?s?")]
    private static partial Regex Numbers();
}
