namespace UserStack.Differential;

/// <summary>What part of a line differs.</summary>
public enum Aspect
{
    /// <summary>Flags, relative seq, length or relative ack of an expected segment.</summary>
    Segment,
    /// <summary>The window field.</summary>
    Window,
    /// <summary>mss, wscale, sackOK, TS ecr or sack blocks (ScriptRunner.CompareOptions).</summary>
    Options,
    /// <summary>The segment is right but sent at another time than the script's (beyond the tolerance).</summary>
    Timing,
    /// <summary>Linux sent a segment the script (UserStack) does not send there.</summary>
    Extra,
    /// <summary>Linux sent nothing where the script (UserStack) sends a segment.</summary>
    Missing,
    /// <summary>A socket call returned another result or errno.</summary>
    Call,
}

public enum DifferenceClass
{
    /// <summary>No judgement written down yet: the differential mode fails on these.</summary>
    Unclassified,
    OurBug,
    LinuxPolicy,
    LinuxDeviation,
}

/// <summary>A judgement: the class, and why (with the RFC clause that allows or forbids the choice).</summary>
public sealed record Verdict(DifferenceClass Class, string Reason, string Key = "")
{
    public string ClassName => Class switch
    {
        DifferenceClass.OurBug => "our bug",
        DifferenceClass.LinuxPolicy => "Linux policy the RFC allows",
        DifferenceClass.LinuxDeviation => "Linux deviation",
        _ => "UNCLASSIFIED",
    };
}

/// <summary>
/// One difference between what the script says (what UserStack does: the scripts pass against it)
/// and what the Linux kernel did on the same line of the same conversation.
/// </summary>
public sealed record Difference(string Script, int Line, Aspect Aspect, string UserStack, string Linux, string Detail)
{
    public Verdict Verdict { get; set; } = new(DifferenceClass.Unclassified, "");
}

/// <summary>One script's run against both sides.</summary>
public sealed record ScriptOutcome(string Script, string? Skipped, string? UserStackFailure, IReadOnlyList<Difference> Differences, double Seconds, string Log);
