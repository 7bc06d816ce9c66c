using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace UserStack.Sockets.Api;

/// <summary>
/// A connected UserStack stream socket as a .NET <see cref="Stream"/>: Read returns 0 at the peer's
/// FIN. Errors come as <see cref="IOException"/> wrapping the <see cref="SocketException"/>, as
/// System.Net.Sockets.NetworkStream does; cancellation stays <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class UserStream(UserSocket socket) : Stream
{
    public UserSocket Socket { get; } = socket;
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try { return Socket.Receive(buffer); }
        catch (SocketException e) { throw Wrap(e, "read"); }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try { Socket.Send(buffer); }
        catch (SocketException e) { throw Wrap(e, "write"); }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ValueTask<int> receive;
        try { receive = Socket.ReceiveAsync(buffer, cancellationToken); }
        catch (SocketException e) { return ValueTask.FromException<int>(Wrap(e, "read")); }
        return receive.IsCompletedSuccessfully ? receive : Awaited(receive);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        static async ValueTask<int> Awaited(ValueTask<int> receive)
        {
            try { return await receive.ConfigureAwait(false); }
            catch (SocketException e) { throw Wrap(e, "read"); }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ValueTask send;
        try { send = Socket.SendAsync(buffer, cancellationToken); }
        catch (SocketException e) { return ValueTask.FromException(Wrap(e, "write")); }
        return send.IsCompletedSuccessfully ? send : Awaited(send);

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        static async ValueTask Awaited(ValueTask send)
        {
            try { await send.ConfigureAwait(false); }
            catch (SocketException e) { throw Wrap(e, "write"); }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override void Flush() { } // every write is handed to the stack at once
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>NetworkStream's shape: "Unable to read data from the transport connection: ..." around the SocketException.</summary>
    internal static IOException Wrap(SocketException e, string what) =>
        new($"Unable to {what} data {(what == "read" ? "from" : "to")} the transport connection: {e.Message}.", e);

    protected override void Dispose(bool disposing)
    {
        if (disposing) Socket.Close();
        base.Dispose(disposing);
    }
}
