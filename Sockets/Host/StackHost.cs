using UserStack.Diagnostics;
using UserStack.Drivers;
using UserStack.Drivers.Capture;
using UserStack.Time;

namespace UserStack.Sockets.Host;

/// <summary>
/// Runs the sans-I/O core on a real clock over a device. Protocol state is touched only under
/// <see cref="Gate"/>: by the device's reader thread for each frame, by the timer thread when a
/// deadline comes, and (later) by socket calls from application threads.
/// </summary>
public sealed class StackHost : IDisposable
{
    private readonly IFrameDevice device;
    private readonly IHostClock clock;
    private readonly AutoResetEvent timerWake = new(false);
    private readonly DateTime startedAt = DateTime.UtcNow;
    private Thread? timerThread;
    private volatile bool stopping;
    private Instant scheduled = Instant.MaxValue;

    /// <param name="clock">null is the real clock; a <see cref="VirtualClock"/> runs no timer thread:
    /// time moves, and timers fire, only in <see cref="AdvanceTo"/>.</param>
    public StackHost(StackOptions options, IFrameDevice device, PcapCapture? capture = null, ITraceSink? trace = null, IHostClock? clock = null)
    {
        this.device = device;
        this.clock = clock ?? new MonotonicClock();
        Capture = capture;
        Stack = new NetStack(options, new DeviceSink(this)) { Trace = trace };
    }

    public NetStack Stack { get; }
    public PcapCapture? Capture { get; }
    /// <summary>The one lock around all protocol state.</summary>
    public object Gate { get; } = new();
    public Instant Now => clock.Now;
    public TimeSpan Uptime => DateTime.UtcNow - startedAt;
    /// <summary>Exceptions caught at the host boundary (a bug in the core); the frame is dropped, the host lives on.</summary>
    public long InternalErrors => Interlocked.Read(ref internalErrors);
    private long internalErrors;
    public Exception? LastInternalError { get; private set; }

    public void Start()
    {
        lock (Gate) Stack.Start(clock.Now);
        if (clock is not VirtualClock)
        {
            timerThread = new Thread(TimerLoop) { IsBackground = true, Name = "ustack-timers" };
            timerThread.Start();
        }
        device.Start(OnFrame);
    }

    /// <summary>
    /// Virtual time only: fires every timer due up to <paramref name="target"/> at its own instant,
    /// then leaves the clock at the target. Threads blocked in socket calls wake as the core signals them.
    /// </summary>
    public void AdvanceTo(Instant target)
    {
        if (clock is not VirtualClock manual) throw new InvalidOperationException("only a host on a VirtualClock can be advanced");
        lock (Gate)
        {
            while (Stack.NextDeadline <= target)
            {
                if (Stack.NextDeadline > manual.Now) manual.Set(Stack.NextDeadline);
                try { Stack.Poll(manual.Now); }
                catch (Exception e) { Fault(e); }
            }
            if (target > manual.Now) manual.Set(target);
            WakeAllLocked(); // calls waiting for a virtual deadline look at the clock again
        }
    }

    /// <summary>How many threads are blocked in a socket call right now (a script runner waits for a call to block).</summary>
    public int BlockedCalls => Volatile.Read(ref blockedCalls);
    private int blockedCalls;

    /// <summary>Under <see cref="Gate"/>: releases it until the core signals a change or the time passes.</summary>
    public void WaitLocked(int milliseconds)
    {
        Interlocked.Increment(ref blockedCalls);
        waitingSince[Environment.CurrentManagedThreadId] = wakeEpoch;
        try { Monitor.Wait(Gate, milliseconds); }
        finally
        {
            waitingSince.Remove(Environment.CurrentManagedThreadId);
            Interlocked.Decrement(ref blockedCalls);
        }
    }

    private readonly Dictionary<int, long> waitingSince = new(); // thread -> the wake-up epoch it went to sleep in
    private long wakeEpoch;

    /// <summary>Under <see cref="Gate"/>: wakes every blocked call to look at its socket again.</summary>
    public void WakeAllLocked()
    {
        wakeEpoch++;
        Monitor.PulseAll(Gate);
    }

    /// <summary>
    /// Under <see cref="Gate"/>: true when <paramref name="threadId"/> is blocked in a socket call
    /// and went to sleep after the last wake-up, so nothing it waits for has happened since (a
    /// script runner's test that a blocking call has settled, not merely not yet rechecked).
    /// </summary>
    public bool IsSettledWaiter(int threadId) => waitingSince.TryGetValue(threadId, out var epoch) && epoch == wakeEpoch;

    /// <summary>The instant a timeout ends on this host's clock (virtual or real); null or non-positive means never.</summary>
    public Instant DeadlineAfter(TimeSpan? timeout) => timeout is { } t && t > TimeSpan.Zero ? clock.Now + t : Instant.MaxValue;

    /// <summary>
    /// Under <see cref="Gate"/>: waits for a change until <paramref name="deadline"/> on the host's
    /// clock; false when the deadline has passed (then the caller gives up, e.g. EAGAIN or poll's 0).
    /// On a virtual clock the wait ends when <see cref="AdvanceTo"/> moves time past the deadline.
    /// </summary>
    public bool WaitLocked(Instant deadline)
    {
        var now = clock.Now;
        if (deadline <= now) return false;
        if (clock is VirtualClock || deadline == Instant.MaxValue) { WaitLocked(Timeout.Infinite); return true; }
        var remaining = (deadline - now).TotalMilliseconds;
        WaitLocked(remaining >= int.MaxValue ? Timeout.Infinite : Math.Max(1, (int)Math.Ceiling(remaining)));
        return true;
    }

    /// <summary>Hands a frame to the core as if the device had read it (script runners, adapters).</summary>
    public void Inject(ReadOnlySpan<byte> frame) => OnFrame(frame);

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        Capture?.Write(frame, DateTime.UtcNow);
        lock (Gate)
        {
            try { Stack.Receive(frame, clock.Now); }
            catch (Exception e) { Fault(e); }
            Reschedule();
        }
    }

    /// <summary>Call under <see cref="Gate"/> after changing protocol state from outside a frame or timer (a socket call).</summary>
    public void Reschedule()
    {
        if (Stack.NextDeadline < scheduled) timerWake.Set();
    }

    private void TimerLoop()
    {
        while (!stopping)
        {
            Instant deadline;
            lock (Gate)
            {
                try { Stack.Poll(clock.Now); }
                catch (Exception e) { Fault(e); }
                deadline = Stack.NextDeadline;
                scheduled = deadline;
            }
            var wait = deadline == Instant.MaxValue ? TimeSpan.FromSeconds(1) : deadline - clock.Now;
            if (wait > TimeSpan.FromSeconds(1)) wait = TimeSpan.FromSeconds(1);
            if (wait > TimeSpan.Zero) timerWake.WaitOne(wait);
        }
    }

    private void Fault(Exception e)
    {
        Interlocked.Increment(ref internalErrors);
        LastInternalError = e;
    }

    public void Dispose()
    {
        if (stopping) return;
        stopping = true;
        device.Dispose();
        timerWake.Set();
        timerThread?.Join();
        timerWake.Dispose();
    }

    private sealed class DeviceSink(StackHost host) : IFrameSink
    {
        public void Transmit(ReadOnlySpan<byte> frame)
        {
            host.Capture?.Write(frame, DateTime.UtcNow);
            host.device.Send(frame);
        }
    }
}
