using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using UserStack.Transport;

namespace UserStack.Sockets.Api;

/// <summary>
/// A stream socket as an <see cref="IDuplexPipe"/> on the socket's own buffers, as Kestrel's
/// transports want it. Input reads the TCP receive buffer in place: ReadAsync returns the bytes
/// where the core put them and AdvanceTo consumes them, so the window opens only as the
/// application advances (back-pressure to the peer). Output gathers writes in a pooled buffer and
/// FlushAsync moves them into the send buffer, waiting while it is full (back-pressure to the
/// writer); WriteAsync of a whole block goes to the send buffer without the intermediate copy.
/// Completing Output sends FIN (shutdown of writing). Socket errors surface as IOException.
/// </summary>
internal sealed class SocketPipe(UserSocket socket) : IDuplexPipe
{
    public PipeReader Input { get; } = new SocketPipeReader(socket);
    public PipeWriter Output { get; } = new SocketPipeWriter(socket);
}

internal sealed class SocketPipeReader(UserSocket socket) : PipeReader
{
    /// <summary>One piece of the ring, reused: the sequence of a wrapped buffer is two of them.</summary>
    private sealed class Piece : ReadOnlySequenceSegment<byte>
    {
        public void Set(ReadOnlyMemory<byte> memory, long runningIndex, Piece? next)
        {
            Memory = memory;
            RunningIndex = runningIndex;
            Next = next;
        }
    }

    private readonly Piece head = new(), tail = new();
    private ReadOnlySequence<byte> last;  // what the last read returned
    private int examined;                  // bytes from the ring's head the reader has seen (a read waits for more)
    private volatile bool cancelRequested;
    private bool reading, completed;

    public override bool TryRead(out ReadResult result)
    {
        ThrowIfCompleted();
        if (cancelRequested)
        {
            cancelRequested = false;
            result = new ReadResult(default, isCanceled: true, isCompleted: false);
            reading = true;
            last = default;
            return true;
        }
        int n = socket.PeekReceived(out var first, out var second, out bool ended, out var error);
        if (n == 0 && ended && error != Errno.Ok) throw UserStream.Wrap(new SocketException((int)error.ToSocketError()), "read");
        if (n > examined || ended)
        {
            last = Sequence(first, second);
            result = new ReadResult(last, isCanceled: false, isCompleted: ended && n == last.Length);
            reading = true;
            return true;
        }
        result = default;
        return false;
    }

    private ReadOnlySequence<byte> Sequence(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second)
    {
        if (second.IsEmpty) return new ReadOnlySequence<byte>(first);
        tail.Set(second, first.Length, null);
        head.Set(first, 0, tail);
        return new ReadOnlySequence<byte>(head, 0, tail, second.Length);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryRead(out var result)) return result;
            await socket.WaitReceivedBeyondAsync(examined, cancellationToken).ConfigureAwait(false);
            if (cancelRequested) continue;
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (!reading) throw new InvalidOperationException("AdvanceTo without a read");
        reading = false;
        if (last.IsEmpty) { this.examined = 0; return; }
        long taken = last.Slice(last.Start, consumed).Length;
        long seen = last.Slice(last.Start, examined).Length;
        last = default;
        socket.ConsumeReceived((int)taken);
        this.examined = (int)(seen - taken);
    }

    public override void CancelPendingRead()
    {
        cancelRequested = true;
        socket.WakeWaiters();
    }

    public override void Complete(Exception? exception = null) => completed = true;

    private void ThrowIfCompleted()
    {
        if (completed) throw new InvalidOperationException("the reader was completed");
    }
}

internal sealed class SocketPipeWriter(UserSocket socket) : PipeWriter
{
    private const int MinimumBuffer = 16 * 1024;
    private byte[]? buffer;  // pooled; what was written and not yet flushed is buffer[..buffered]
    private int buffered;
    private volatile bool cancelRequested;
    private bool completed;

    public override bool CanGetUnflushedBytes => true;
    public override long UnflushedBytes => buffered;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return buffer.AsMemory(buffered);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return buffer.AsSpan(buffered);
    }

    private void Ensure(int sizeHint)
    {
        if (completed) throw new InvalidOperationException("the writer was completed");
        int need = buffered + Math.Max(sizeHint, 1);
        if (buffer is not null && buffer.Length >= need) return;
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(need, MinimumBuffer));
        if (buffer is not null)
        {
            buffer.AsSpan(0, buffered).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(buffer);
        }
        buffer = larger;
    }

    public override void Advance(int bytes)
    {
        if (bytes < 0 || buffer is null || buffered + bytes > buffer.Length) throw new ArgumentOutOfRangeException(nameof(bytes));
        buffered += bytes;
    }

    public override void CancelPendingFlush()
    {
        cancelRequested = true;
        socket.WakeWaiters();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (cancelRequested) { cancelRequested = false; return new FlushResult(isCanceled: true, isCompleted: false); }
        if (buffered > 0)
        {
            try { await socket.SendAsync(buffer.AsMemory(0, buffered), cancellationToken).ConfigureAwait(false); }
            catch (SocketException e) { throw UserStream.Wrap(e, "write"); }
            buffered = 0;
        }
        return new FlushResult(isCanceled: false, isCompleted: false);
    }

    /// <summary>A whole block goes straight into the send buffer (after what was gathered before it).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        if (completed) throw new InvalidOperationException("the writer was completed");
        var flushed = await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (flushed.IsCanceled) return flushed;
        try { await socket.SendAsync(source, cancellationToken).ConfigureAwait(false); }
        catch (SocketException e) { throw UserStream.Wrap(e, "write"); }
        return new FlushResult(isCanceled: false, isCompleted: false);
    }

    /// <summary>Sends what is still gathered (blocking), then FIN.</summary>
    public override void Complete(Exception? exception = null)
    {
        if (completed) return;
        try
        {
            if (exception is null && buffered > 0) socket.Send(buffer.AsSpan(0, buffered));
        }
        catch (SocketException) { }
        finally { Finish(); }
    }

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (completed) return;
        try
        {
            if (exception is null && buffered > 0) await socket.SendAsync(buffer.AsMemory(0, buffered)).ConfigureAwait(false);
        }
        catch (SocketException) { }
        finally { Finish(); }
    }

    private void Finish()
    {
        completed = true;
        buffered = 0;
        socket.TryShutdown(SocketShutdown.Send); // FIN after what was sent
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        buffer = null;
    }
}
