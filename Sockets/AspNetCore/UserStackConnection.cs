using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using UserStack.Sockets.Api;
using Endpoint = UserStack.Transport.Endpoint;

namespace UserStack.AspNetCore;

/// <summary>
/// One accepted UserStack connection as Kestrel sees it. Two pipes stand between the socket and
/// the app, each pumped by one loop: received bytes go straight into the input pipe's buffers,
/// the output pipe's buffers go straight to the socket (one copy each way, as with kernel sockets).
/// When the app completes its output we send FIN and close gracefully; <see cref="Abort"/> resets
/// (SO_LINGER 0); <see cref="ConnectionClosed"/> fires when the peer's FIN or an error ends the input.
/// </summary>
internal sealed class UserStackConnection : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    private static readonly PipeOptions InputOptions = new(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, minimumSegmentSize: 16384, useSynchronizationContext: false,
        readerScheduler: PipeScheduler.ThreadPool, writerScheduler: PipeScheduler.Inline);
    private static readonly PipeOptions OutputOptions = new(pauseWriterThreshold: 1 << 18, resumeWriterThreshold: 1 << 17, minimumSegmentSize: 16384, useSynchronizationContext: false,
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool);

    private readonly UserSocket socket;
    private readonly Pipe input = new(InputOptions);
    private readonly Pipe output = new(OutputOptions);
    private readonly CancellationTokenSource closed = new();
    private readonly CancellationTokenSource stopReceiving = new();
    private readonly FeatureCollection features = new();
    private Task receiving = Task.CompletedTask, sending = Task.CompletedTask;
    private volatile Exception? abortReason;
    private volatile bool shuttingDown;
    private int closedFired;

    public UserStackConnection(UserSocket socket, string id)
    {
        this.socket = socket;
        ConnectionId = id;
        Transport = new DuplexPipe(input.Reader, output.Writer);
        LocalEndPoint = AddressOf(() => socket.LocalEndpoint);
        RemoteEndPoint = AddressOf(() => socket.RemoteEndpoint); // null if the peer already reset it
        features.Set<IConnectionIdFeature>(this);
        features.Set<IConnectionTransportFeature>(this);
        features.Set<IConnectionItemsFeature>(this);
        features.Set<IConnectionLifetimeFeature>(this);
        features.Set<IConnectionEndPointFeature>(this);
    }

    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features => features;
    public override IDictionary<object, object?> Items { get; set; } = new ConnectionItems();
    public override IDuplexPipe Transport { get; set; }
    public override EndPoint? LocalEndPoint { get; set; }
    public override EndPoint? RemoteEndPoint { get; set; }
    public override CancellationToken ConnectionClosed { get => closed.Token; set => throw new NotSupportedException(); }

    private static IPEndPoint? AddressOf(Func<Endpoint> get)
    {
        try { return UserStackEndPoint.ToIPEndPoint(get()); }
        catch (SocketException) { return null; }
    }

    public void Start()
    {
        receiving = Task.Run(ReceiveLoop);
        sending = Task.Run(SendLoop);
    }

    private async Task ReceiveLoop()
    {
        Exception? error = null;
        var writer = input.Writer;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(InputOptions.MinimumSegmentSize);
                int n = await socket.ReceiveAsync(memory, stopReceiving.Token).ConfigureAwait(false);
                if (n == 0) break; // the peer's FIN
                writer.Advance(n);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled) break; // the app stopped reading
            }
        }
        catch (OperationCanceledException) { }
        catch (SocketException e) when (shuttingDown || abortReason is not null) { _ = e; }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.TimedOut)
        {
            error = new ConnectionResetException(e.Message, e);
        }
        catch (Exception e) { error = new IOException(e.Message, e); }
        finally
        {
            await writer.CompleteAsync(abortReason ?? error).ConfigureAwait(false);
            FireClosed();
        }
    }

    private async Task SendLoop()
    {
        var reader = output.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled) break; // Abort
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                    await socket.SendAsync(segment).ConfigureAwait(false);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) break; // the app is done writing
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { error = e; }
        finally
        {
            await reader.CompleteAsync(error).ConfigureAwait(false);
            if (abortReason is null)
            {
                // The app completed its output: FIN after everything queued; the stack sends the
                // rest and finishes the close (FIN-WAIT, TIME-WAIT) without us.
                shuttingDown = true;
                socket.Close();
            }
            stopReceiving.Cancel();
        }
    }

    private void FireClosed()
    {
        if (Interlocked.Exchange(ref closedFired, 1) != 0) return;
        // Off this thread: handlers may be slow, and the receive loop may be inside a stack callback.
        ThreadPool.UnsafeQueueUserWorkItem(static c => { try { c.Cancel(); } catch (ObjectDisposedException) { } }, closed, preferLocal: false);
    }

    /// <summary>Ends the connection at once with RST (SO_LINGER 0), as Kestrel's socket transport does.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (this.abortReason is not null) return;
        this.abortReason = abortReason;
        socket.Linger = TimeSpan.Zero;
        socket.Close();
        output.Reader.CancelPendingRead();
        stopReceiving.Cancel();
    }

    /// <summary>Graceful: the app's output is flushed, FIN is sent, both loops end.</summary>
    public override async ValueTask DisposeAsync()
    {
        Transport.Input.Complete();
        Transport.Output.Complete();
        await sending.ConfigureAwait(false);
        await receiving.ConfigureAwait(false);
        socket.Close();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
