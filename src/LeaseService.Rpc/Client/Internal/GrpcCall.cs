using System.Diagnostics;
using Google.Protobuf;
using LeaseService.Rpc.Internal;

namespace LeaseService.Rpc.Client.Internal;

/// <summary>
/// One call on a <see cref="GrpcChannel"/>: sends the request, enforces the deadline and
/// cancellation, reads the response messages and decides the status.
/// </summary>
/// <remarks>
/// <para>
/// Cancellation and the deadline race with the call's own progress. <c>_state</c> settles it: the
/// first of "caller cancelled", "deadline", "disposed" and "completed" to leave
/// <see cref="Running"/> wins. A cancel that wins cancels <c>_cts</c> (stops
/// <c>SendAsync</c>) and disposes the response once headers have arrived, which resets the
/// stream with RST_STREAM(CANCEL) and fails any pending read. The flow that then sees the failure
/// reports the status of the winner, not of the exception it caught.
/// </para>
/// <para>
/// No <see cref="CancellationTokenSource"/>, timer or registration is created for a call with
/// neither a deadline nor a cancellable token. <c>_cts</c> is never disposed: it owns no timer,
/// and disposing it could race a cancel already in progress.
/// </para>
/// </remarks>
internal sealed class GrpcCall<TRequest, TResponse> : IServerStreamingCall<TResponse>
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    private const int Running = 0;
    private const int CancelledByCaller = 1;
    private const int DeadlineReached = 2;
    private const int DisposedByCaller = 3;
    private const int Completed = 4;

    /// <summary>The longest due time a system timer accepts; longer deadlines re-arm when it fires.</summary>
    private static readonly TimeSpan MaxTimerDueTime = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private static readonly Status DeadlineExceededStatus = new(StatusCode.DeadlineExceeded, "Deadline Exceeded");
    private static readonly Status CancelledStatus = new(StatusCode.Cancelled, "Call canceled by the client.");
    private static readonly Status DisposedStatus = new(StatusCode.Cancelled, "Call canceled: the call was disposed.");

    private static readonly Action<object?> OnCallerCancelled = static state => ((GrpcCall<TRequest, TResponse>)state!).Cancel(CancelledByCaller);
    private static readonly TimerCallback OnDeadlineTimer = static state => ((GrpcCall<TRequest, TResponse>)state!).DeadlineTimerFired();

    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly TimeProvider _timeProvider;

    private CancellationTokenSource? _cts;
    private CancellationTokenRegistration _callerRegistration;
    private ITimer? _deadlineTimer;
    private long _startTimestamp;
    private TimeSpan _timeout = Timeout.InfiniteTimeSpan;
    private int _state;
    private int _cleanedUp;
    private HttpRequestMessage? _request;
    private HttpResponseMessage? _response;

    // Server streaming only.
    private Task<HttpResponseMessage?>? _startTask;
    private ResponseMessageReader? _reader;
    private TResponse? _current;
    private int _readStarted;
    private Status _status;
    private RpcException? _failure;
    private volatile bool _finished;

    public GrpcCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _timeProvider = channel.TimeProvider;
    }

    public TResponse Current => _current!;

    private CancellationToken Token => _cts?.Token ?? default;

    /// <summary>Runs a unary call to its end; always leaves the call cleaned up.</summary>
    public async Task<TResponse> UnaryAsync(TRequest request)
    {
        try
        {
            if (Start(request) is { } startError)
            {
                throw new RpcException(startError);
            }

            var response = await _channel.Invoker.SendAsync(_request!, Token).ConfigureAwait(false);
            SetResponse(response);
            if (ResponseStatus.FromResponseHeaders(response, out _) is { } headerStatus)
            {
                // An OK here is Trailers-Only: a unary call that ended without its message.
                throw new RpcException(headerStatus.Code == StatusCode.OK ? NoMessageStatus() : headerStatus);
            }

            var stream = await response.Content.ReadAsStreamAsync(Token).ConfigureAwait(false);
            using var reader = CreateReader(response, stream);
            if (!await reader.ReadMessageAsync(Token).ConfigureAwait(false))
            {
                var emptyStatus = ResponseStatus.FromTrailers(response);
                throw new RpcException(emptyStatus.Code == StatusCode.OK ? NoMessageStatus() : emptyStatus);
            }

            var message = _method.ResponseParser.ParseFrom(reader.Payload);

            // Read to the end of the body: only then are the trailers there.
            if (await reader.ReadMessageAsync(Token).ConfigureAwait(false))
            {
                throw new RpcException(StatusCode.Unimplemented, "Response cardinality violation: more than one message on a unary call.");
            }

            var status = ResponseStatus.FromTrailers(response);
            if (status.Code != StatusCode.OK)
            {
                throw new RpcException(status);
            }

            return message;
        }
        catch (Exception ex)
        {
            var status = ResolveFailure(ex);
            if (ex is RpcException rpc && rpc.Status == status)
            {
                throw;
            }

            throw new RpcException(status, ex);
        }
        finally
        {
            CleanUp();
        }
    }

    /// <summary>Sends the request now; the response is read by <see cref="MoveNextAsync"/>.</summary>
    public void StartServerStreaming(TRequest request)
    {
        _startTask = StartServerStreamingAsync(request);
    }

    public void BeginRead()
    {
        if (Interlocked.Exchange(ref _readStarted, 1) != 0)
        {
            throw new InvalidOperationException("The response stream of a call can be read only once.");
        }
    }

    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        Debug.Assert(_startTask is not null, "Server streaming calls are started before they are read.");
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(OnCallerCancelled, this)
            : default;
        try
        {
            var response = await _startTask.ConfigureAwait(false);
            if (response is not null && !_finished)
            {
                try
                {
                    if (await _reader!.ReadMessageAsync(Token).ConfigureAwait(false))
                    {
                        _current = _method.ResponseParser.ParseFrom(_reader.Payload);
                        return true;
                    }

                    Finish(ResponseStatus.FromTrailers(response), null);
                }
                catch (Exception ex)
                {
                    Finish(ResolveFailure(ex), ex);
                }
            }

            _current = default;
            if (_failure is not null)
            {
                throw _failure;
            }

            return false;
        }
        finally
        {
            registration.Dispose();
        }
    }

    public Status GetStatus()
    {
        if (_finished)
        {
            return _status;
        }

        if (Volatile.Read(ref _state) == DisposedByCaller)
        {
            return DisposedStatus;
        }

        throw new InvalidOperationException("The call has not finished: read the response stream to its end first.");
    }

    /// <summary>Cancels the call if it is still running (RST_STREAM CANCEL) and releases it.</summary>
    public void Dispose()
    {
        Cancel(DisposedByCaller);
        CleanUp();
    }

    /// <summary>
    /// Everything before sending: local failures (cancelled token, deadline already passed) give a
    /// status and send nothing. Otherwise builds the request and arms the deadline timer and the
    /// cancellation; <c>grpc-timeout</c> is the time left now.
    /// </summary>
    private Status? Start(TRequest request)
    {
        var callerToken = _options.CancellationToken;
        if (callerToken.IsCancellationRequested)
        {
            return CancelledStatus;
        }

        var httpRequest = new HttpRequestMessage(HttpMethod.Post, _channel.GetMethodUri(_method.FullName))
        {
            Content = new UnaryRequestContent(MessageFraming.ToFramedArray(request)),
        };

        string? grpcTimeout = null;
        if (_options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            var utcDeadline = deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline;
            _startTimestamp = _timeProvider.GetTimestamp();
            var left = utcDeadline - _timeProvider.GetUtcNow().UtcDateTime;
            if (left <= TimeSpan.Zero)
            {
                httpRequest.Dispose();
                return DeadlineExceededStatus;
            }

            _timeout = left;
            grpcTimeout = GrpcTimeout.Format(left);
        }

        RequestHeaders.Apply(httpRequest, _channel.UserAgent, grpcTimeout, _options.Headers);
        _request = httpRequest;

        var hasDeadline = _timeout != Timeout.InfiniteTimeSpan;
        if (hasDeadline || callerToken.CanBeCanceled)
        {
            _cts = new CancellationTokenSource();
            if (hasDeadline)
            {
                _deadlineTimer = CreateDeadlineTimer();
            }

            if (callerToken.CanBeCanceled)
            {
                _callerRegistration = callerToken.UnsafeRegister(OnCallerCancelled, this);
            }
        }

        return null;
    }

    private async Task<HttpResponseMessage?> StartServerStreamingAsync(TRequest request)
    {
        try
        {
            if (Start(request) is { } startError)
            {
                Finish(startError, null);
                return null;
            }

            var response = await _channel.Invoker.SendAsync(_request!, Token).ConfigureAwait(false);
            SetResponse(response);
            if (ResponseStatus.FromResponseHeaders(response, out _) is { } headerStatus)
            {
                // Trailers-Only: for server streaming an OK here is a stream of no messages.
                Finish(headerStatus, null);
                return null;
            }

            var stream = await response.Content.ReadAsStreamAsync(Token).ConfigureAwait(false);
            _reader = CreateReader(response, stream);
            return response;
        }
        catch (Exception ex)
        {
            Finish(ResolveFailure(ex), ex);
            return null;
        }
    }

    /// <summary>Publishes the response so a cancel can reset it; fails if a cancel already won.</summary>
    private void SetResponse(HttpResponseMessage response)
    {
        // A full fence between publishing the response and reading the state: Cancel does the reverse.
        Interlocked.Exchange(ref _response, response);
        if (Volatile.Read(ref _state) is not Running)
        {
            response.Dispose();
            throw new OperationCanceledException();
        }
    }

    private ResponseMessageReader CreateReader(HttpResponseMessage response, Stream stream)
    {
        string? encoding = null;
        if (response.Headers.NonValidated.TryGetValues(GrpcProtocol.EncodingHeader, out var values))
        {
            encoding = values.ToString();
        }

        return new ResponseMessageReader(stream, _channel.MaxReceiveMessageSize, encoding);
    }

    /// <summary>The timer does not capture the caller's ExecutionContext (its AsyncLocals stay with the caller).</summary>
    private ITimer CreateDeadlineTimer()
    {
        var restoreFlow = false;
        if (!ExecutionContext.IsFlowSuppressed())
        {
            ExecutionContext.SuppressFlow();
            restoreFlow = true;
        }

        try
        {
            return _timeProvider.CreateTimer(OnDeadlineTimer, this, Min(_timeout, MaxTimerDueTime), Timeout.InfiniteTimeSpan);
        }
        finally
        {
            if (restoreFlow)
            {
                ExecutionContext.RestoreFlow();
            }
        }
    }

    private void DeadlineTimerFired()
    {
        var elapsed = _timeProvider.GetElapsedTime(_startTimestamp);
        if (_timeout > MaxTimerDueTime && elapsed < _timeout)
        {
            _deadlineTimer?.Change(Min(_timeout - elapsed, MaxTimerDueTime), Timeout.InfiniteTimeSpan);
            return;
        }

        Cancel(DeadlineReached);
    }

    private void Cancel(int reason)
    {
        if (Interlocked.CompareExchange(ref _state, reason, Running) != Running)
        {
            return;
        }

        _cts?.Cancel();
        Interlocked.CompareExchange(ref _response, null, null)?.Dispose();
    }

    /// <summary>The status of a call that failed with <paramref name="exception"/>.</summary>
    private Status ResolveFailure(Exception exception)
    {
        var status = Volatile.Read(ref _state) switch
        {
            DeadlineReached => DeadlineExceededStatus,
            CancelledByCaller => CancelledStatus,
            DisposedByCaller => DisposedStatus,
            _ => ResponseStatus.FromException(exception),
        };
        return AdjustForDeadline(status);
    }

    /// <summary>
    /// Once the local deadline has fired, every failure is DEADLINE_EXCEEDED, even a status that
    /// arrived meanwhile; a CANCELLED after the deadline passed is DEADLINE_EXCEEDED too.
    /// </summary>
    private Status AdjustForDeadline(Status status)
    {
        if (status.Code == StatusCode.OK || _timeout == Timeout.InfiniteTimeSpan)
        {
            return status;
        }

        if (Volatile.Read(ref _state) == DeadlineReached
            || (status.Code == StatusCode.Cancelled && _timeProvider.GetElapsedTime(_startTimestamp) >= _timeout))
        {
            return DeadlineExceededStatus;
        }

        return status;
    }

    /// <summary>Ends a server-streaming call with its status. Called only by the reading flow.</summary>
    private void Finish(Status status, Exception? exception)
    {
        status = AdjustForDeadline(status);
        _status = status;
        if (status.Code != StatusCode.OK)
        {
            _failure = exception is RpcException rpc && rpc.Status == status ? rpc : new RpcException(status, exception);
        }

        _finished = true;
        CleanUp();
        _reader?.Dispose();
    }

    private void CleanUp()
    {
        Interlocked.CompareExchange(ref _state, Completed, Running);
        if (Interlocked.Exchange(ref _cleanedUp, 1) != 0)
        {
            return;
        }

        _callerRegistration.Dispose();
        _deadlineTimer?.Dispose();
        Interlocked.Exchange(ref _response, null)?.Dispose();
        _request?.Dispose();
    }

    private Status NoMessageStatus()
        => new(StatusCode.Unimplemented, $"Response cardinality violation: {_method.FullName} ended with OK but no response message.");

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
