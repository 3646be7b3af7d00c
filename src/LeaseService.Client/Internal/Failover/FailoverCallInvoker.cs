using Grpc.Core;

namespace LeaseService.Client.Internal.Failover;

/// <summary>How many attempts a call may make across the replicas, and how long to wait between rounds.</summary>
/// <param name="MaxAttempts">Attempts per call, the first included (≥ 1).</param>
/// <param name="InitialBackoff">The wait after a round in which every address failed; doubles per round.</param>
/// <param name="MaxBackoff">The longest wait.</param>
internal sealed record FailoverPolicy(int MaxAttempts, TimeSpan InitialBackoff, TimeSpan MaxBackoff);

/// <summary>
/// A <see cref="CallInvoker"/> over several replicas of which one is active. Every call goes to
/// the replica believed active (at first the first address). A unary call refused by a standby
/// (<c>UNAVAILABLE</c> "not the active replica") is retried at the replica its <c>leader-url</c>
/// trailer names, if that is a configured address, and at once; otherwise, and after connection
/// failures, at the next address; which failures are retried for which methods is
/// <see cref="FailoverDecision"/>'s. A round that tried every address without an answer waits an
/// exponential backoff with jitter before the next. Attempts are bounded
/// (<see cref="FailoverPolicy.MaxAttempts"/>) and all share the call's deadline and cancellation;
/// the last failure is the call's. The replica that answered becomes the one every later call uses.
/// Streaming calls go to the believed-active replica without retry. Each replica's invoker is
/// created on first use and kept.
/// </summary>
internal sealed class FailoverCallInvoker : CallInvoker, IDisposable
{
    private readonly ReplicaAddresses _addresses;
    private readonly Func<Uri, (CallInvoker Invoker, IDisposable? Owned)> _connect;
    private readonly FailoverPolicy _policy;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly CallInvoker?[] _invokers;
    private readonly List<IDisposable> _owned = [];
    private volatile int _active;
    private bool _disposed;

    public FailoverCallInvoker(ReplicaAddresses addresses, Func<Uri, (CallInvoker Invoker, IDisposable? Owned)> connect, FailoverPolicy policy, TimeProvider time)
    {
        if (policy.MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(policy), policy.MaxAttempts, "At least one attempt.");
        }

        _addresses = addresses;
        _connect = connect;
        _policy = policy;
        _time = time;
        _invokers = new CallInvoker?[addresses.Count];
    }

    /// <summary>The replica calls go to now: the last one that answered, or the one a standby named.</summary>
    public Uri Active => _addresses[_active];

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        => AsyncUnaryCall(method, host, options, request).ResponseAsync.GetAwaiter().GetResult();

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new FailoverCall<TResponse>();
        call.Run(CallWithFailoverAsync(method, host, options, request, call));
        return new AsyncUnaryCall<TResponse>(call.Response, call.ResponseHeadersAsync(), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        => InvokerFor(_active).AsyncServerStreamingCall(method, host, options, request);

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
        => InvokerFor(_active).AsyncClientStreamingCall(method, host, options);

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
        => InvokerFor(_active).AsyncDuplexStreamingCall(method, host, options);

    public void Dispose()
    {
        IDisposable[] owned;
        lock (_lock)
        {
            _disposed = true;
            owned = [.. _owned];
            _owned.Clear();
        }

        foreach (var resource in owned)
        {
            resource.Dispose();
        }
    }

    private async Task<TResponse> CallWithFailoverAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request, FailoverCall<TResponse> call)
        where TRequest : class
        where TResponse : class
    {
        var target = _active;
        var untriedInRound = _addresses.Count - 1;
        var rounds = 0;
        var followedLeader = false;
        for (var attempt = 1; ; attempt++)
        {
            var inner = InvokerFor(target).AsyncUnaryCall(method, host, options, request);
            call.SetAttempt(inner);
            try
            {
                var response = await inner.ResponseAsync.ConfigureAwait(false);
                _active = target;
                return response;
            }
            catch (RpcException ex) when (attempt < _policy.MaxAttempts && !options.CancellationToken.IsCancellationRequested)
            {
                var action = FailoverDecision.Classify(ex, method.FullName, _addresses, out var leader);
                TimeSpan wait;
                switch (action)
                {
                    case FailoverAction.FollowLeader when leader != target:
                        // The first hint is followed at once; hints that keep moving wait like rounds.
                        wait = followedLeader ? Backoff(rounds++) : TimeSpan.Zero;
                        followedLeader = true;
                        target = leader;
                        _active = leader;
                        untriedInRound = _addresses.Count - 1;
                        break;
                    case FailoverAction.FollowLeader or FailoverAction.TryNext:
                        target = (target + 1) % _addresses.Count;
                        if (untriedInRound > 0)
                        {
                            untriedInRound--;
                            wait = TimeSpan.Zero;
                        }
                        else
                        {
                            untriedInRound = _addresses.Count - 1;
                            wait = Backoff(rounds++);
                        }

                        break;
                    default:
                        throw;
                }

                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, _time, options.CancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        throw new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client while waiting to fail over."));
                    }
                }
            }
        }
    }

    /// <summary>Exponential backoff with jitter: between half and all of initial × 2^round, at most the maximum.</summary>
    private TimeSpan Backoff(int round)
    {
        var full = Math.Min(_policy.MaxBackoff.TotalMilliseconds, _policy.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(round, 30)));
#pragma warning disable CA5394 // Jitter, not security.
        return TimeSpan.FromMilliseconds(full * (0.5 + (Random.Shared.NextDouble() / 2)));
#pragma warning restore CA5394
    }

    private CallInvoker InvokerFor(int index)
    {
        if (Volatile.Read(ref _invokers[index]) is { } existing)
        {
            return existing;
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_invokers[index] is { } raced)
            {
                return raced;
            }

            var (invoker, owned) = _connect(_addresses[index]);
            if (owned is not null)
            {
                _owned.Add(owned);
            }

            Volatile.Write(ref _invokers[index], invoker);
            return invoker;
        }
    }
}
