using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using LeaseService.Rpc.AspNetCore.Internal.Calls;
using LeaseService.Rpc.AspNetCore.Internal.Diagnostics;
using LeaseService.Rpc.AspNetCore.Internal.Framing;
using LeaseService.Rpc.AspNetCore.Internal.Logging;
using LeaseService.Rpc.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LeaseService.Rpc.AspNetCore;

/// <summary>
/// Per-call information for a handler: method, peer, deadline, cancellation and metadata.
/// One instance per call; it is not safe to keep it after the handler returns.
/// </summary>
/// <remarks>
/// It also owns the call's small completion state machine, which settles the race between the
/// handler finishing, a streamed write in progress, and the deadline timer firing, so that the
/// status and trailers are written exactly once:
/// <code>
///   Running ──BeginWrite──► Writing ──EndWrite──► Running
///      │                       │ deadline fires
///      │ deadline fires        ▼
///      │                DeadlinePending ──EndWrite (writer runs the deadline work)──┐
///      ▼                                                                             ▼
///   Deadline (timer thread writes DEADLINE_EXCEEDED, completes, RST_STREAM(CANCEL))  Deadline
///   Running ──handler done──► Completed (the invoker writes the final status)
/// </code>
/// </remarks>
public sealed class ServerCallContext
{
    private const int StateRunning = 0;
    private const int StateWriting = 1;
    private const int StateDeadlinePending = 2;
    private const int StateDeadline = 3;
    private const int StateCompleted = 4;

    private readonly HttpContext _httpContext;
    private readonly GrpcServerRuntime _runtime;
    private readonly MethodLabels _labels;
    private readonly long _startTimestamp;
    private int _state;
    private bool _ended;
    private string? _peer;
    private HeaderDictionary? _requestHeaders;
    private HeaderDictionary? _responseTrailers;
    private ServerCallDeadline? _deadline;

    internal ServerCallContext(HttpContext httpContext, string method, MethodLabels labels, GrpcServerRuntime runtime)
    {
        _httpContext = httpContext;
        _runtime = runtime;
        _labels = labels;
        _startTimestamp = runtime.TimeProvider.GetTimestamp();
        Method = method;
    }

    /// <summary>The method's path, e.g. <c>/leases.v1.LeaseService/AddLease</c>.</summary>
    public string Method { get; }

    /// <summary>The remote address, e.g. <c>ipv4:127.0.0.1:54321</c> or <c>ipv6:[::1]:54321</c>.</summary>
    public string Peer => _peer ??= FormatPeer(_httpContext.Connection.RemoteIpAddress, _httpContext.Connection.RemotePort);

    /// <summary>The call's deadline in UTC, from <c>grpc-timeout</c>; null when the client set none.</summary>
    public DateTime? Deadline => _deadline?.DeadlineUtc;

    /// <summary>Fires when the client aborts the call (RST_STREAM or a lost connection) or the deadline expires.</summary>
    public CancellationToken CancellationToken => _deadline is { } deadline ? deadline.Token : _httpContext.RequestAborted;

    /// <summary>
    /// The request metadata (a read-only copy made on first use), without the headers the protocol
    /// reserves (<c>content-type</c>, <c>te</c>, <c>grpc-timeout</c>, <c>grpc-encoding</c>, ...).
    /// <c>-bin</c> values are still base64 as on the wire.
    /// </summary>
    public IHeaderDictionary RequestHeaders => _requestHeaders ??= ReservedHeaders.CopyCustom(_httpContext.Request.Headers);

    /// <summary>
    /// Custom trailers to send with the status. Names reserved by the protocol (<c>grpc-status</c>,
    /// <c>grpc-message</c>, <c>content-type</c>, ...) are ignored; <c>-bin</c> values must be base64.
    /// </summary>
    public IHeaderDictionary ResponseTrailers => _responseTrailers ??= new HeaderDictionary();

    internal HttpContext HttpContext => _httpContext;

    internal GrpcServerRuntime Runtime => _runtime;

    internal HeaderDictionary? CustomTrailers => _responseTrailers;

    /// <summary>Arms the deadline timer. Call once, before anything reads the request.</summary>
    internal void StartDeadline(TimeSpan timeout)
    {
        var deadline = new ServerCallDeadline(this, timeout);
        _deadline = deadline;
        deadline.Start();
    }

    /// <summary>Handler finished: claim the right to write the final status. False when the deadline won.</summary>
    internal bool TryComplete()
    {
        var previous = Interlocked.CompareExchange(ref _state, StateCompleted, StateRunning);
        if (previous == StateRunning)
        {
            return true;
        }

        // Writing here means the handler returned without awaiting a write: a handler bug. The
        // write owns the response until it ends, so the final status is dropped rather than raced.
        return false;
    }

    /// <summary>Called from the deadline timer when the deadline has passed.</summary>
    internal void OnDeadlineFired(ServerCallDeadline deadline)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state == StateRunning)
            {
                if (Interlocked.CompareExchange(ref _state, StateDeadline, StateRunning) == StateRunning)
                {
                    _ = deadline.ExecuteAsync();
                    return;
                }
            }
            else if (state == StateWriting)
            {
                if (Interlocked.CompareExchange(ref _state, StateDeadlinePending, StateWriting) == StateWriting)
                {
                    // The writer owns the response: unblock its flush; it runs the deadline work when it ends.
                    deadline.CancelToken();
                    return;
                }
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>Writes and flushes one streamed message, guarded against the deadline timer.</summary>
    internal async ValueTask WriteStreamMessageAsync(IMessage message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var callToken = CancellationToken;
        var previous = Interlocked.CompareExchange(ref _state, StateWriting, StateRunning);
        if (previous != StateRunning)
        {
            throw previous switch
            {
                StateWriting => new InvalidOperationException("Only one write can be pending at a time."),
                StateCompleted => new InvalidOperationException("The call is complete; the handler cannot write after it returned."),
                _ => new OperationCanceledException("The call's deadline was exceeded.", callToken),
            };
        }

        try
        {
            callToken.ThrowIfCancellationRequested();
            var response = _httpContext.Response;
            if (!response.HasStarted)
            {
                await response.StartAsync(callToken).ConfigureAwait(false);
            }

            MessageFraming.WriteMessage(response.BodyWriter, message);
            var result = await response.BodyWriter.FlushAsync(callToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("The write was cancelled.", callToken);
            }
        }
        finally
        {
            if (Interlocked.CompareExchange(ref _state, StateRunning, StateWriting) == StateDeadlinePending)
            {
                Volatile.Write(ref _state, StateDeadline);
                await _deadline!.ExecuteAsync().ConfigureAwait(false);
            }
        }

        if (Volatile.Read(ref _state) == StateDeadline)
        {
            throw new OperationCanceledException("The call's deadline was exceeded.", callToken);
        }
    }

    /// <summary>After <see cref="TryComplete"/> lost: wait for the deadline work, then release the timer.</summary>
    internal async Task FinishAfterDeadlineAsync()
    {
        var state = Volatile.Read(ref _state);
        if (_deadline is { } deadline && state is StateDeadline or StateDeadlinePending)
        {
            await deadline.DisposeAfterDeadlineAsync().ConfigureAwait(false);
            return;
        }

        ReleaseResources();
    }

    /// <summary>
    /// The call's final status is decided: records <c>rpc.server.calls</c> and
    /// <c>rpc.server.call.duration</c> and writes the Debug event (id 30). Called once, by whoever
    /// owns the status (the invoker, or the deadline); later calls are ignored.
    /// </summary>
    internal void RecordEnd(StatusCode status)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        var metrics = _runtime.Metrics;
        var logger = _runtime.Logger;
        var logging = logger.IsEnabled(LogLevel.Debug);
        if (!metrics.Enabled && !logging)
        {
            return;
        }

        var elapsed = _runtime.TimeProvider.GetElapsedTime(_startTimestamp);
        metrics.Record(_labels, status, elapsed.TotalSeconds);
        if (logging)
        {
            ServerLog.CallFinished(logger, Method, status, elapsed.TotalMilliseconds, Peer);
        }
    }

    /// <summary>Stops the deadline timer and releases its token source (no-op without a deadline).</summary>
    internal void ReleaseResources() => _deadline?.Dispose();

    private static string FormatPeer(IPAddress? address, int port)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? string.Create(CultureInfo.InvariantCulture, $"ipv6:[{address}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"ipv4:{address}:{port}");
    }
}
