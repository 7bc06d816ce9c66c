using System.Runtime.InteropServices;

namespace UserStack.Drivers;

/// <summary>
/// The scheduling priority of the threads that move frames (a device's reader, the host's timer and
/// transmit threads). The kernel's own stack runs in softirq context, ahead of every process; a
/// user-space stack at nice 0 shares the CPU with whatever else runs, and on a busy 2-core machine
/// its reader falls behind a flood and the TAP queue drops frames of live sessions (a SYN lost costs
/// a connection 1 s). <c>ustack up</c> asks for nice -10 (<c>--io-nice</c>); without the right
/// (not root, no CAP_SYS_NICE) the threads stay as they are and <see cref="Refused"/> counts it.
/// </summary>
public static partial class IoThreadPriority
{
    /// <summary>The nice value (-20..19) for I/O threads started from now on; null leaves them alone (the default).</summary>
    public static int? Nice { get; set; }
    /// <summary>Threads whose priority the kernel would not change.</summary>
    public static int Refused => refused;
    private static int refused;

    /// <summary>Called first thing on an I/O thread: gives it <see cref="Nice"/>, if set.</summary>
    public static void ApplyToCurrentThread()
    {
        if (Nice is not { } nice || !OperatingSystem.IsLinux()) return;
        if (setpriority(PrioProcess, gettid(), nice) != 0) Interlocked.Increment(ref refused);
    }

    private const int PrioProcess = 0; // with a thread id, setpriority(2) sets that thread (Linux)

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int prio);

    [LibraryImport("libc")]
    private static partial int gettid();
}
