using Grpc.Core;

namespace LeaseService.Client.Internal.Failover;

/// <summary>
/// The state behind one unary call of <see cref="FailoverCallInvoker"/> (and of
/// <see cref="Retry.LoadingRetryCallInvoker"/>, which repeats it at one server): the attempt in flight,
/// whose status, trailers and headers become the call's, and disposal, which ends the attempt in
/// flight and any that follows.
/// </summary>
internal sealed class FailoverCall<TResponse>
{
    private readonly Lock _lock = new();
    private AsyncUnaryCall<TResponse>? _attempt;
    private bool _disposed;

    /// <summary>The call's response: the first successful attempt's, or the last failure.</summary>
    public Task<TResponse> Response { get; private set; } = Task.FromException<TResponse>(new InvalidOperationException("Not started."));

    public void Run(Task<TResponse> response) => Response = response;

    /// <summary>Makes <paramref name="attempt"/> the call's attempt, ending the previous one.</summary>
    public void SetAttempt(AsyncUnaryCall<TResponse> attempt)
    {
        AsyncUnaryCall<TResponse>? previous;
        bool disposed;
        lock (_lock)
        {
            previous = _attempt;
            _attempt = attempt;
            disposed = _disposed;
        }

        previous?.Dispose();
        if (disposed)
        {
            attempt.Dispose();
        }
    }

    /// <summary>The headers of the attempt that decided the call, once it is decided.</summary>
    public async Task<Metadata> ResponseHeadersAsync()
    {
        try
        {
            await Response.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The headers task reports the deciding attempt's own failure below.
        }

        return await Current().ResponseHeadersAsync.ConfigureAwait(false);
    }

    public Status GetStatus() => Current().GetStatus();

    public Metadata GetTrailers() => Current().GetTrailers();

    public void Dispose()
    {
        AsyncUnaryCall<TResponse>? attempt;
        lock (_lock)
        {
            _disposed = true;
            attempt = _attempt;
        }

        attempt?.Dispose();
    }

    private AsyncUnaryCall<TResponse> Current()
    {
        lock (_lock)
        {
            return _attempt ?? throw new InvalidOperationException("No attempt has started.");
        }
    }
}
