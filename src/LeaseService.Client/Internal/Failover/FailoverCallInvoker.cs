using Grpc.Core;

namespace LeaseService.Client.Internal.Failover;

/// <summary>How many attempts a call may make across the replicas, and how long to wait between rounds.</summary>
/// <param name="MaxAttempts">Attempts per call, the first included (≥ 1).</param>
/// <param name="InitialBackoff">The wait after a round in which every address failed; doubles per round.</param>
/// <param name="MaxBackoff">The longest wait.</param>
/// <param name="AttemptTimeout">
/// How long the first attempt of a call at each replica may take for a method that is safe to
/// repeat before the next replica is tried (a replica that accepts connections but does not
/// answer: paused, frozen, overloaded); null for no limit but the call's own.
/// </param>
internal sealed record FailoverPolicy(int MaxAttempts, TimeSpan InitialBackoff, TimeSpan MaxBackoff, TimeSpan? AttemptTimeout = null);

/// <summary>
/// A <see cref="CallInvoker"/> over several replicas of which one is active. Every call goes to
/// the replica believed active (at first the first address). A unary call refused by a standby
/// (<c>UNAVAILABLE</c> "not the active replica") is retried at the replica its <c>leader-url</c>
/// trailer names, if that is a configured address, and at once; otherwise, and after connection
/// failures, at the next address; which failures are retried for which methods is
/// <see cref="FailoverDecision"/>'s. A round that tried every address without an answer waits an
/// exponential backoff with jitter before the next. Attempts are bounded
/// (<see cref="FailoverPolicy.MaxAttempts"/>) and all share the call's deadline and cancellation;
/// the last failure is the call's, unless it is a standby's refusal and a replica answered
/// UNAVAILABLE for itself before (then that answer is the call's). A method safe to repeat gives
/// its first attempt at each replica (but the last attempt) <see cref="FailoverPolicy.AttemptTimeout"/>
/// before trying the next, so a replica that accepts connections but never answers is passed
/// over; an attempt that ran into the call's deadline moves later calls on to the next replica. The replica
/// that answered becomes the one every later call uses. Streaming calls go to the believed-active
/// replica without retry. Each replica's invoker is created on first use and kept.
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
        var timeLimited = _policy.AttemptTimeout is not null && FailoverDecision.IsSafeToRepeat(method.FullName) ? new bool[_addresses.Count] : null;
        RpcException? activeAnswer = null; // A replica's own UNAVAILABLE (not a standby's refusal, not the transport's).
        for (var attempt = 1; ; attempt++)
        {
            // The first attempt at each replica is limited, a later one there (and the last) has the call's time.
            using var attemptTimeout = timeLimited is not null && !timeLimited[target] && attempt < _policy.MaxAttempts ? new CancellationTokenSource(_policy.AttemptTimeout!.Value, _time) : null;
            using var attemptToken = attemptTimeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken, attemptTimeout.Token);
            if (timeLimited is not null)
            {
                timeLimited[target] = true;
            }

            var inner = InvokerFor(target).AsyncUnaryCall(method, host, attemptToken is null ? options : options.WithCancellationToken(attemptToken.Token), request);
            call.SetAttempt(inner);
            try
            {
                var response = await inner.ResponseAsync.ConfigureAwait(false);
                _active = target;
                return response;
            }
            catch (RpcException ex) when (attempt < _policy.MaxAttempts && !options.CancellationToken.IsCancellationRequested)
            {
                FailoverAction action;
                var leader = -1;
                if (attemptTimeout is { IsCancellationRequested: true } && ex.StatusCode is StatusCode.Cancelled or StatusCode.DeadlineExceeded)
                {
                    action = FailoverAction.TryNext; // No answer in time: safe to repeat elsewhere.
                }
                else
                {
                    action = FailoverDecision.Classify(ex, method.FullName, _addresses, out leader);
                    if (action == FailoverAction.Fail)
                    {
                        throw Demoted(ex, target);
                    }

                    if (action == FailoverAction.TryNext && FailoverDecision.IsOwnAnswer(ex))
                    {
                        activeAnswer = ex; // Retried (it may pass: "loading its state; retry"), and the call's answer if the attempts end on a refusal.
                    }
                }

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
                    default:
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
            catch (RpcException ex)
            {
                // Out of attempts or cancelled by the caller: the active's own answer, when a
                // standby's refusal came after it, says more than that refusal.
                if (activeAnswer is not null && FailoverDecision.IsStandbyRefusal(ex) && !options.CancellationToken.IsCancellationRequested)
                {
                    throw activeAnswer;
                }

                throw Demoted(ex, target);
            }
        }
    }

    /// <summary>
    /// Returns <paramref name="failure"/>; when it is an attempt at <paramref name="target"/> that
    /// ran into the call's deadline (no answer in the call's whole time), later calls start at the
    /// next replica, so a replica that stopped answering does not keep every call waiting. A call
    /// its caller cancelled says nothing about the replica and moves nothing.
    /// </summary>
    private RpcException Demoted(RpcException failure, int target)
    {
        if (failure.StatusCode == StatusCode.DeadlineExceeded && _addresses.Count > 1)
        {
            Interlocked.CompareExchange(ref _active, (target + 1) % _addresses.Count, target);
        }

        return failure;
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
