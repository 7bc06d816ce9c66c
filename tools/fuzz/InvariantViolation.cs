namespace UserStack.Fuzz;

/// <summary>A broken invariant: the harness throws it, so that AFL and the built-in engine see a crash.</summary>
public sealed class InvariantViolation(string message) : Exception(message);
