namespace UserStack.Tools.Labs;

/// <summary>
/// One guided scenario: a title, a short introduction, then steps played on two stacks
/// (<see cref="LabContext.Step"/>) and, at the end, checks that it reached the state it describes
/// (<see cref="LabContext.Check"/>).
/// </summary>
public abstract class Lab
{
    /// <summary>Short kebab-case name: `ustack lab NAME`.</summary>
    public abstract string Name { get; }
    public abstract string Title { get; }
    public abstract string Intro { get; }
    /// <summary>The two stacks' options and the link (defaults: 1 ms one way, MTU 1500).</summary>
    public virtual LabSetup Setup => new();
    public abstract void Play(LabContext lab);
}
