namespace UserStack.Drill;

public enum Verdict { Pass, Fail, Unsupported }

/// <summary>
/// How one script went: PASS; FAIL with the line and what differed (or the syntax error);
/// UNSUPPORTED with the line and the construct the runner cannot execute. Warnings name what was
/// skipped on purpose (shell lines, %{ }% code, options with no meaning here).
/// </summary>
public sealed record Outcome(Verdict Verdict, string? Message, IReadOnlyList<string> Warnings, string Log);
