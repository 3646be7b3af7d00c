using LeaseService.Rpc.AspNetCore.Internal.Logging;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LeaseService.Rpc.AspNetCore.Internal.Calls;

/// <summary>
/// The deadline of one call, created only when the request carries <c>grpc-timeout</c>.
/// On expiry (whoever wins the call's state machine runs <see cref="ExecuteAsync"/> once):
/// 1. DEADLINE_EXCEEDED into the headers (Trailers-Only) or the trailers; 2. complete the
/// response so the status goes out; 3. RST_STREAM(CANCEL); 4. cancel the handler's token.
/// </summary>
internal sealed class ServerCallDeadline : IDisposable
{
    /// <summary>System.Threading timers wait at most uint.MaxValue − 1 ms; longer deadlines re-arm.</summary>
    private static readonly TimeSpan MaxTimerDue = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly ServerCallContext _call;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private readonly long _startTimestamp;
    private readonly CancellationTokenSource _cts;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _timer;
    private int _executed;

    public ServerCallDeadline(ServerCallContext call, TimeSpan timeout)
    {
        _call = call;
        _timeout = timeout;
        _timeProvider = call.Runtime.TimeProvider;
        _startTimestamp = _timeProvider.GetTimestamp();
        DeadlineUtc = _timeProvider.GetUtcNow().UtcDateTime + timeout;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(call.HttpContext.RequestAborted);
        Token = _cts.Token; // Kept so the token stays readable after the source is disposed.
    }

    public DateTime DeadlineUtc { get; }

    public CancellationToken Token { get; }

    /// <summary>Completes when the deadline work has finished (only meaningful once it started).</summary>
    public Task Done => _done.Task;

    public void Start()
    {
        var due = _timeout < MaxTimerDue ? _timeout : MaxTimerDue;
        _timer = _timeProvider.CreateTimer(static state => ((ServerCallDeadline)state!).OnTimer(), this, due, Timeout.InfiniteTimeSpan);
    }

    public void CancelToken()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async Task ExecuteAsync()
    {
        if (Interlocked.Exchange(ref _executed, 1) == 1)
        {
            await _done.Task.ConfigureAwait(false);
            return;
        }

        var httpContext = _call.HttpContext;
        var logger = _call.Runtime.Logger;
        ServerLog.DeadlineExceeded(logger, _call.Method, _timeout);
        _call.RecordEnd(StatusCode.DeadlineExceeded);
        try
        {
            ResponseStatus.Write(_call, StatusCode.DeadlineExceeded, "Deadline Exceeded", includeCustomTrailers: false);
            var body = httpContext.Features.Get<IHttpResponseBodyFeature>();
            if (body is not null)
            {
                await body.CompleteAsync().ConfigureAwait(false);
            }

            var reset = httpContext.Features.Get<IHttpResetFeature>();
            if (reset is not null)
            {
                reset.Reset(8); // CANCEL
            }
            else
            {
                httpContext.Abort();
            }
        }
        catch (Exception ex)
        {
            ServerLog.DeadlineCompletionFailed(logger, _call.Method, ex);
        }
        finally
        {
            CancelToken();
            _done.TrySetResult();
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _cts.Dispose();
    }

    /// <summary>After the deadline fired: waits for a timer callback still running, then releases.</summary>
    public async ValueTask DisposeAfterDeadlineAsync()
    {
        await _done.Task.ConfigureAwait(false);
        if (_timer is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }

        _cts.Dispose();
    }

    private void OnTimer()
    {
        var remaining = _timeout - _timeProvider.GetElapsedTime(_startTimestamp);
        if (remaining > TimeSpan.Zero && _timer is { } timer)
        {
            // Only reached for deadlines beyond the timer's range: wait for the rest.
            try
            {
                timer.Change(remaining < MaxTimerDue ? remaining : MaxTimerDue, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // The call ended meanwhile.
            }

            return;
        }

        _call.OnDeadlineFired(this);
    }
}
