using UserStack.Wire;
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
public sealed partial class StackHost : IDisposable
{
    private readonly IFrameDevice device;
    private readonly IHostClock clock;
    private readonly AutoResetEvent timerWake = new(false);
    private readonly DateTime startedAt = DateTime.UtcNow;
    private Thread? timerThread;
    private volatile bool stopping;
    private Instant scheduled = Instant.MaxValue;
    private readonly TransmitQueue? transmit;

    /// <param name="clock">null is the real clock; a <see cref="VirtualClock"/> runs no timer thread:
    /// time moves, and timers fire, only in <see cref="AdvanceTo"/>.</param>
    /// <param name="transmitQueue">write frames to the devices outside <see cref="Gate"/> (a TAP or pcap
    /// write is a system call); off, each frame is written where the stack sends it, which a script
    /// runner on virtual time needs.</param>
    public StackHost(StackOptions options, IFrameDevice device, PcapCapture? capture = null, ITraceSink? trace = null, IHostClock? clock = null,
        bool transmitQueue = false)
    {
        this.device = device;
        this.clock = clock ?? new MonotonicClock();
        if (transmitQueue && this.clock is VirtualClock) throw new ArgumentException("a host on virtual time writes frames where they are sent", nameof(transmitQueue));
        transmit = transmitQueue ? new TransmitQueue() : null;
        Capture = capture;
        Stack = new NetStack(options, new DeviceSink(this)) { Trace = trace };
        Stack.Primary.SegmentationOffload = OffloadsOf(device, options);
    }

    /// <summary>
    /// Whether a device's offloads are used: TSO and trusted checksums when the device was granted them.
    /// Not with forwarding: a frame whose checksum the kernel left undone must not leave for another host.
    /// </summary>
    private static bool OffloadsOf(IFrameDevice device, StackOptions options)
    {
        if (device is not ISegmentationOffloadDevice { SegmentationOffload: true }) return false;
        if (options.Forwarding) throw new ArgumentException($"{device.Name} has offloads on, which forwarding cannot use: open it without offloads (ustack up --no-offload)", nameof(device));
        return true;
    }

    public NetStack Stack { get; }
    public PcapCapture? Capture { get; }
    /// <summary>The frames waiting to be written outside the lock, when the host was made with one.</summary>
    public TransmitQueue? Transmit => transmit;
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
        if (device is IFrameBatchDevice batching) batching.Start(OnBatch);
        else device.Start(OnFrame);
        StartLinks();
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
            WakeExpiredLocked(); // calls whose virtual deadline came look at the clock again
        }
    }

    /// <summary>How many threads are blocked in a socket call right now (a script runner waits for a call to block).</summary>
    public int BlockedCalls => Volatile.Read(ref blockedCalls);
    private int blockedCalls;

    // Wake-ups are per socket: each socket has a WaitQueue and the core's Signal wakes only that
    // queue. A blocked thread sleeps on its own ThreadWaiter, registered on the queues it waits for
    // (one socket, or every socket of a poll/select). Threads that wait for "any change" without a
    // socket (WaitLocked(Instant) below, e.g. the packetdrill adapter's poll) sit on anyChange,
    // which every socket's wake-up also wakes.
    private readonly Dictionary<int, ThreadWaiter> blocked = new(); // thread -> its waiter, while it sleeps
    private WaitQueue? anyChange;
    private WaitQueue AnyChange => anyChange ??= new WaitQueue(this);

    /// <summary>A new wait queue for a socket on this host.</summary>
    public WaitQueue CreateWaitQueue() => new(this);

    /// <summary>Under <see cref="Gate"/>: releases it until any socket signals a change or the time passes (real milliseconds).</summary>
    public void WaitLocked(int milliseconds)
    {
        var deadline = milliseconds < 0 ? Instant.MaxValue : clock.Now + TimeSpan.FromMilliseconds(milliseconds);
        var any = AnyChange;
        SleepLocked(new ReadOnlySpan<WaitQueue>(ref any), deadline, milliseconds);
    }

    /// <summary>
    /// Under <see cref="Gate"/>: wakes every blocked call to look at its socket again (and every
    /// call waiting for any change). Socket events never need it; time moving does (see <see cref="AdvanceTo"/>).
    /// </summary>
    public void WakeAllLocked()
    {
        foreach (var w in blocked.Values) w.Notify();
        anyChange?.WakeEntriesLocked();
    }

    /// <summary>Under the Gate, from a socket's queue: calls waiting for any change look too.</summary>
    internal void NoteSocketWakeLocked(WaitQueue from)
    {
        if (anyChange is { Count: > 0 } any && any != from) any.WakeEntriesLocked();
    }

    /// <summary>Under the Gate: wakes the blocked calls whose deadline has come (virtual time moved).</summary>
    private void WakeExpiredLocked()
    {
        var now = clock.Now;
        foreach (var w in blocked.Values)
            if (w.Deadline <= now) w.Notify();
    }

    /// <summary>
    /// Under <see cref="Gate"/>: true when <paramref name="threadId"/> is blocked in a socket call
    /// and no wake-up reached it since it went to sleep, so nothing it waits for has happened (a
    /// script runner's test that a blocking call has settled, not merely not yet rechecked). A
    /// wake-up of another socket leaves it settled: it was not woken.
    /// </summary>
    public bool IsSettledWaiter(int threadId) => blocked.TryGetValue(threadId, out var w) && !w.Woken;

    /// <summary>The instant a timeout ends on this host's clock (virtual or real); null or non-positive means never.</summary>
    public Instant DeadlineAfter(TimeSpan? timeout) => timeout is { } t && t > TimeSpan.Zero ? clock.Now + t : Instant.MaxValue;

    /// <summary>
    /// Under <see cref="Gate"/>: waits for a change of any socket until <paramref name="deadline"/>
    /// on the host's clock; false when the deadline has passed (then the caller gives up, e.g.
    /// EAGAIN or poll's 0). On a virtual clock the wait ends when <see cref="AdvanceTo"/> moves time
    /// past the deadline. Socket calls wait on their own socket instead (<see cref="WaitLocked(WaitQueue, Instant)"/>).
    /// </summary>
    public bool WaitLocked(Instant deadline)
    {
        var any = AnyChange;
        return WaitLocked(new ReadOnlySpan<WaitQueue>(ref any), deadline);
    }

    /// <summary>Under <see cref="Gate"/>: waits until this socket's queue is woken or the deadline passes on the host's clock; false when it had passed.</summary>
    public bool WaitLocked(WaitQueue queue, Instant deadline) => WaitLocked(new ReadOnlySpan<WaitQueue>(ref queue), deadline);

    /// <summary>Under <see cref="Gate"/>: waits until one of these queues is woken (poll, select) or the deadline passes; false when it had passed.</summary>
    public bool WaitLocked(ReadOnlySpan<WaitQueue> queues, Instant deadline)
    {
        var now = clock.Now;
        if (deadline <= now) return false;
        int ms = Timeout.Infinite;
        if (clock is not VirtualClock && deadline != Instant.MaxValue)
        {
            var remaining = (deadline - now).TotalMilliseconds;
            ms = remaining >= int.MaxValue ? Timeout.Infinite : Math.Max(1, (int)Math.Ceiling(remaining));
        }
        SleepLocked(queues, deadline, ms);
        return true;
    }

    private void SleepLocked(ReadOnlySpan<WaitQueue> queues, Instant deadline, int milliseconds)
    {
        if (!Monitor.IsEntered(Gate)) throw new SynchronizationLockException("WaitLocked needs the host's Gate");
        var waiter = ThreadWaiter.Current;
        int thread = Environment.CurrentManagedThreadId;
        waiter.Arm(deadline);
        foreach (var q in queues) q.Add(waiter);
        blocked[thread] = waiter;
        Interlocked.Increment(ref blockedCalls);
        // Release the Gate however deeply this thread holds it, as Monitor.Wait would; the waiter
        // is registered, so a wake-up between here and the sleep is kept by its event.
        int depth = 0;
        while (Monitor.IsEntered(Gate)) { Monitor.Exit(Gate); depth++; }
        try { waiter.Sleep(milliseconds); }
        finally
        {
            for (int i = 0; i < depth; i++) Monitor.Enter(Gate);
            foreach (var q in queues) q.Remove(waiter);
            blocked.Remove(thread);
            Interlocked.Decrement(ref blockedCalls);
        }
    }

    /// <summary>Hands a frame to the core as if the device had read it (script runners, adapters).</summary>
    public void Inject(ReadOnlySpan<byte> frame) => OnFrame(frame);

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        bool deferring = BeginDeferring();
        try
        {
            transmit?.CallerWillFlush();
            try { ReceiveLocked(frame); }
            finally { transmit?.FlushAsCaller(); }
        }
        finally
        {
            if (deferring) CompleteDeferred(); // inline completions (StackHost.Inline.cs), outside the Gate
        }
    }

    private void ReceiveLocked(ReadOnlySpan<byte> frame)
    {
        lock (Gate)
        {
            // The capture holds the frame until the stack has decided its fate (the comment), so
            // that what the stack sends in answer still follows it in the file.
            Capture?.BeginReceived(frame, DateTime.UtcNow);
            try { Stack.Receive(frame, clock.Now); }
            catch (Exception e) { Fault(e); }
            Capture?.EndReceived(Stack.ReceiveFate);
            Reschedule();
        }
    }

    /// <summary>
    /// Every frame a device read at one wake-up: one lock, one clock reading and one timer check for
    /// the batch (a SYN flood comes in batches of <see cref="Drivers.Tap.TapDevice.MaxBatch"/>).
    /// </summary>
    private void OnBatch(in FrameBatch batch)
    {
        bool deferring = BeginDeferring();
        try
        {
            transmit?.CallerWillFlush();
            try { ReceiveLocked(batch); }
            finally { transmit?.FlushAsCaller(); }
        }
        finally
        {
            try
            {
                if (deferring) CompleteDeferred(); // inline completions (StackHost.Inline.cs), outside the Gate
            }
            finally { EndBatch(); }
        }
    }

    /// <summary>
    /// The ACKs the batch still owes (TcpLayer.Batch.cs), after the inline continuations ran: an answer
    /// they sent (an echo, a response, a FIN) carried the ACK already, and only the others go alone.
    /// </summary>
    private void EndBatch()
    {
        transmit?.CallerWillFlush();
        try
        {
            lock (Gate)
            {
                try { Stack.EndBatch(clock.Now); }
                catch (Exception e) { Fault(e); }
                Reschedule();
            }
        }
        finally { transmit?.FlushAsCaller(); }
    }

    private void ReceiveLocked(in FrameBatch batch)
    {
        lock (Gate)
        {
            var now = clock.Now;
            var capture = Capture;
            var at = capture is null ? default : DateTime.UtcNow;
            Stack.BeginBatch(); // one ACK per connection for the batch's in-order data, as Linux's GRO; EndBatch sends them
            for (int i = 0; i < batch.Count; i++)
            {
                // As OnFrame: the capture (a queue copy, no I/O here) holds each frame until its fate is known.
                capture?.BeginReceived(batch[i], at, batch.IsChecksumTrusted(i));
                try { Stack.Receive(Stack.Primary, batch[i], now, batch.IsChecksumTrusted(i)); }
                catch (Exception e) { Fault(e); }
                capture?.EndReceived(Stack.ReceiveFate);
            }
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
        IoThreadPriority.ApplyToCurrentThread();
        while (!stopping)
        {
            Instant deadline;
            transmit?.CallerWillFlush();
            lock (Gate)
            {
                try { Stack.Poll(clock.Now); }
                catch (Exception e) { Fault(e); }
                deadline = Stack.NextDeadline;
                scheduled = deadline;
            }
            transmit?.FlushAsCaller();
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
        transmit?.Dispose(); // what the stack sent goes out before the devices close
        device.Dispose();
        DisposeLinks();
        timerWake.Set();
        timerThread?.Join();
        timerWake.Dispose();
    }

    /// <summary>
    /// Called from inside NetStack.TransmitFrame, under the Gate (TransmitNote is this frame's reason):
    /// queued for a write outside the lock, or written now; the capture records it once it is on its way.
    /// </summary>
    private void SendOut(IFrameDevice to, ReadOnlySpan<byte> frame, int segmentSize = 0)
    {
        if (transmit is { } queue && !queue.Enqueue(to, frame, segmentSize))
        {
            Stack.Counters.Drop(DropReason.TransmitQueueFull);
            return;
        }
        Capture?.WriteSent(frame, DateTime.UtcNow, Stack.TransmitNote);
        if (transmit is null) Send(to, frame, segmentSize);
    }

    /// <summary>Writes one frame; a TSO super-segment (<paramref name="segmentSize"/> &gt; 0) only to a device that cuts it.</summary>
    internal static bool Send(IFrameDevice to, ReadOnlySpan<byte> frame, int segmentSize) =>
        segmentSize > 0 ? ((ISegmentationOffloadDevice)to).Send(frame, segmentSize) : to.Send(frame);

    private sealed class DeviceSink(StackHost host) : IFrameSink
    {
        public void Transmit(ReadOnlySpan<byte> frame) => host.SendOut(host.device, frame);
        public void Transmit(ReadOnlySpan<byte> frame, int segmentSize) => host.SendOut(host.device, frame, segmentSize);
    }
}
