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

    private readonly Piece[] pieces = [new(), new(), new(), new()]; // the ring's two pieces, each maybe cut around the urgent byte
    private ReadOnlySequence<byte> last;  // what the last read returned
    private int examined;                  // in-stream bytes from the head the reader has seen (a read waits for more)
    private int skipped = -1;              // the ring offset of the out-of-band byte the last read left out, or -1
    private volatile bool cancelRequested;
    private bool reading, completed;

    /// <summary>
    /// The stream as recv reads it (tcp_recvmsg): a read stops at the urgent mark, and the
    /// out-of-band byte is left out unless SO_OOBINLINE. A reader that examined everything before
    /// the mark without consuming gets the bytes after it too (else it could never see more).
    /// </summary>
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
        int n = socket.PeekReceived(out var first, out var second, out bool ended, out var error, out int mark, out bool inline);
        if (n == 0 && ended && error != Errno.Ok) throw UserStream.Wrap(new SocketException((int)error.ToSocketError()), "read");
        skipped = mark >= 0 && !inline ? mark : -1;
        int inStream = n - (skipped >= 0 ? 1 : 0);
        int visible = mark > 0 && examined < mark ? mark : inStream;
        if (visible > examined || ended)
        {
            last = Sequence(first, second, visible);
            result = new ReadResult(last, isCanceled: false, isCompleted: ended && visible == inStream);
            reading = true;
            return true;
        }
        result = default;
        return false;
    }

    /// <summary>The first <paramref name="length"/> in-stream bytes of the ring's pieces, without the skipped byte.</summary>
    private ReadOnlySequence<byte> Sequence(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second, int length)
    {
        int count = 0, offset = 0;
        long running = 0;
        void Add(ReadOnlyMemory<byte> m)
        {
            m = m[..(int)Math.Min(m.Length, length - running)];
            if (m.IsEmpty) return;
            pieces[count].Set(m, running, null);
            if (count > 0) pieces[count - 1].Set(pieces[count - 1].Memory, pieces[count - 1].RunningIndex, pieces[count]);
            running += m.Length;
            count++;
        }
        void AddAround(ReadOnlyMemory<byte> piece)
        {
            int at = skipped - offset;
            if (at >= 0 && at < piece.Length) { Add(piece[..at]); Add(piece[(at + 1)..]); }
            else Add(piece);
            offset += piece.Length;
        }
        AddAround(first);
        AddAround(second);
        if (count == 0) return ReadOnlySequence<byte>.Empty;
        if (count == 1) return new ReadOnlySequence<byte>(pieces[0].Memory);
        return new ReadOnlySequence<byte>(pieces[0], 0, pieces[count - 1], pieces[count - 1].Memory.Length);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryRead(out var result)) return result;
            // In ring bytes: the skipped out-of-band byte is there but is not more to read.
            await socket.WaitReceivedBeyondAsync(examined + (skipped >= 0 && skipped <= examined ? 1 : 0), cancellationToken).ConfigureAwait(false);
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
        // The skipped out-of-band byte goes with the bytes around it (at the mark: before the first in-stream byte).
        socket.ConsumeReceived((int)taken + (skipped >= 0 && taken > skipped ? 1 : 0));
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
