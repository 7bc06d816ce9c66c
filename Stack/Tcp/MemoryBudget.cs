namespace UserStack.Tcp;

/// <summary>
/// Bytes the whole stack may hold for one purpose (out-of-order TCP data): taken when stored,
/// given back when delivered or dropped, so that many connections together stay under a cap, as
/// Linux bounds all sockets' memory with tcp_mem. Not thread-safe (the stack runs under one lock).
/// </summary>
public sealed class MemoryBudget(long capacity)
{
    public long Capacity { get; } = capacity;
    public long InUse { get; private set; }

    public bool TryTake(long bytes)
    {
        if (InUse + bytes > Capacity) return false;
        InUse += bytes;
        return true;
    }

    public void Give(long bytes) => InUse = Math.Max(0, InUse - bytes);
}
