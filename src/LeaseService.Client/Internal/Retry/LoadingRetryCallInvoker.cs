using Grpc.Core;
using LeaseService.Client.Internal.Failover;
using LeaseService.Shared;

namespace LeaseService.Client.Internal.Retry;

/// <summary>How a call repeats a loading refusal.</summary>
/// <param name="InitialBackoff">The wait before the first repeat; doubles per repeat, with jitter (half to all of it).</param>
/// <param name="MaxBackoff">The longest wait between two attempts.</param>
/// <param name="LimitWithoutDeadline">How long a call without a deadline keeps repeating before the refusal is its answer.</param>
internal sealed record LoadingRetryPolicy(TimeSpan InitialBackoff, TimeSpan MaxBackoff, TimeSpan LimitWithoutDeadline)
{
    /// <summary>100 ms, doubling, at most 1 s; 30 s for a call without a deadline (the default <see cref="LeaseClientOptions.CallTimeout"/>).</summary>
    public static LoadingRetryPolicy Default { get; } = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
}

/// <summary>
/// Repeats a unary call refused because the server is loading its state
/// (<see cref="IsLoadingRefusal"/>), for every method: that refusal comes before anything is
/// decided, so nothing was applied. Waits an exponential backoff with jitter between attempts
/// (<see cref="LoadingRetryPolicy"/>), all within the call's deadline and cancellation: when the
/// next wait would pass the deadline, the refusal is the call's answer (not a DEADLINE_EXCEEDED
/// that says less). Every other failure is the call's at once, as the invoker below decided it
/// (the channel's retry policy for a single address, <see cref="FailoverCallInvoker"/> for
/// several replicas). Streaming calls pass through.
/// </summary>
internal sealed class LoadingRetryCallInvoker(CallInvoker inner, LoadingRetryPolicy policy, TimeProvider time) : CallInvoker
{
    /// <summary>
    /// Whether <paramref name="failure"/> is a server's refusal while it loads its state:
    /// <c>UNAVAILABLE</c> with the trailer <c>lease-not-applied: loading</c>, or with the status
    /// message alone (servers from before the trailer). A transport failure (which carries its
    /// exception) never is.
    /// </summary>
    public static bool IsLoadingRefusal(RpcException failure)
        => failure.StatusCode == StatusCode.Unavailable
            && failure.Status.DebugException is null
            && (string.Equals(failure.Trailers.GetValue(LoadingRefusal.NotAppliedTrailer), LoadingRefusal.LoadingReason, StringComparison.Ordinal)
                || string.Equals(failure.Status.Detail, LoadingRefusal.Message, StringComparison.Ordinal));

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        => AsyncUnaryCall(method, host, options, request).ResponseAsync.GetAwaiter().GetResult();

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new FailoverCall<TResponse>();
        call.Run(CallAsync(method, host, options, request, call));
        return new AsyncUnaryCall<TResponse>(call.Response, call.ResponseHeadersAsync(), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        => inner.AsyncServerStreamingCall(method, host, options, request);

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
        => inner.AsyncClientStreamingCall(method, host, options);

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
        => inner.AsyncDuplexStreamingCall(method, host, options);

    private async Task<TResponse> CallAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request, FailoverCall<TResponse> call)
        where TRequest : class
        where TResponse : class
    {
        var started = time.GetTimestamp();
        for (var repeat = 0; ; repeat++)
        {
            var attempt = inner.AsyncUnaryCall(method, host, options, request);
            call.SetAttempt(attempt);
            try
            {
                return await attempt.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException ex) when (IsLoadingRefusal(ex) && !options.CancellationToken.IsCancellationRequested)
            {
                var wait = Backoff(repeat);
                if (!HasTimeFor(wait, options.Deadline, started))
                {
                    throw; // The refusal is the answer: the server is still loading.
                }

                try
                {
                    await Task.Delay(wait, time, options.CancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    throw new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client while the server loaded its state."));
                }
            }
        }
    }

    /// <summary>Whether waiting <paramref name="wait"/> leaves time for another attempt: before the deadline, or within the limit for calls without one.</summary>
    private bool HasTimeFor(TimeSpan wait, DateTime? deadline, long started)
    {
        if (deadline is { } due && due != DateTime.MaxValue)
        {
            return due - time.GetUtcNow().UtcDateTime > wait; // UTC, as gRPC deadlines are.
        }

        return time.GetElapsedTime(started) + wait < policy.LimitWithoutDeadline;
    }

    /// <summary>Exponential backoff with jitter: between half and all of initial × 2^repeat, at most the maximum.</summary>
    private TimeSpan Backoff(int repeat)
    {
        var full = Math.Min(policy.MaxBackoff.TotalMilliseconds, policy.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(repeat, 30)));
#pragma warning disable CA5394 // Jitter, not security.
        return TimeSpan.FromMilliseconds(full * (0.5 + (Random.Shared.NextDouble() / 2)));
#pragma warning restore CA5394
    }
}
