using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using LeaseService.Server.Health;

namespace LeaseService.Server.Rpc;

/// <summary>
/// Every call to every service: refused with UNAVAILABLE once the host is stopping (calls in
/// flight finish; health calls are answered, and Watch streams end with the drain), counted and timed by service, method and status (<see cref="CallInstruments"/>),
/// and one Debug event (id 30) with method, status and duration.
/// </summary>
internal sealed partial class CallObservabilityInterceptor(
    IHostApplicationLifetime lifetime,
    HealthDrain drain,
    CallInstruments instruments,
    ILogger<CallObservabilityInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (Refusal(context) is { } refused)
        {
            return Task.FromException<TResponse>(refused);
        }

        var start = Stopwatch.GetTimestamp();
        Task<TResponse> call;
        try
        {
            call = continuation(request, context);
        }
        catch (Exception ex)
        {
            // A handler that throws before returning its task (RenewLease's NOT_FOUND).
            Record(context, StatusOf(ex, context), start);
            return Task.FromException<TResponse>(ex);
        }

        // A handler that completed synchronously (RenewLease) is recorded and passed on as it is:
        // no state machine, no second task.
        if (call.IsCompletedSuccessfully)
        {
            Record(context, StatusCode.OK, start);
            return call;
        }

        return AwaitUnaryAsync(call, context, start);
    }

    private async Task<TResponse> AwaitUnaryAsync<TResponse>(Task<TResponse> call, ServerCallContext context, long start)
    {
        try
        {
            var response = await call.ConfigureAwait(false);
            Record(context, StatusCode.OK, start);
            return response;
        }
        catch (Exception ex)
        {
            Record(context, StatusOf(ex, context), start);
            throw;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (Refusal(context) is { } refused)
        {
            throw refused;
        }

        var start = Stopwatch.GetTimestamp();

        // A health Watch ends with the drain, once it has told its watcher NOT_SERVING.
        using var watch = responseStream is IServerStreamWriter<HealthCheckResponse> health ? new DrainingWatchWriter(health) : null;
        var writer = watch is null ? responseStream : (IServerStreamWriter<TResponse>)(object)watch;
        using var end = new CancellationTokenSource();
        using var onDrain = drain.WatchesEnd.Register(() => _ = EndAfterAsync(watch?.DrainAsync() ?? Task.CompletedTask, end));
        using var ending = EndingServerCallContext.Create(context, end.Token);
        try
        {
            await continuation(request, writer, ending).ConfigureAwait(false);
            Record(context, StatusCode.OK, start);
        }
        catch (Exception ex)
        {
            Record(context, StatusOf(ex, context), start);
            throw;
        }
    }

    private static async Task EndAfterAsync(Task drained, CancellationTokenSource end)
    {
        await drained.ConfigureAwait(false);
        try
        {
            await end.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The call ended on its own meanwhile.
        }
    }

    /// <summary>Once the host is stopping: the call recorded as UNAVAILABLE and the exception that refuses it; otherwise null.</summary>
    private RpcException? Refusal(ServerCallContext context)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested
            && !context.Method.StartsWith("/" + HealthChecksSetup.HealthServiceName + "/", StringComparison.Ordinal))
        {
            instruments.Record(context.Method, StatusCode.Unavailable, 0);
            return new RpcException(new Status(StatusCode.Unavailable, "Server is shutting down"));
        }

        return null;
    }

    private static StatusCode StatusOf(Exception exception, ServerCallContext context) => exception switch
    {
        RpcException rpc => rpc.StatusCode,
        OperationCanceledException when context.Deadline <= DateTime.UtcNow => StatusCode.DeadlineExceeded,
        OperationCanceledException when context.CancellationToken.IsCancellationRequested => StatusCode.Cancelled,
        _ => StatusCode.Unknown,
    };

    private void Record(ServerCallContext context, StatusCode status, long start)
    {
        var elapsed = Stopwatch.GetElapsedTime(start);
        instruments.Record(context.Method, status, elapsed.TotalSeconds);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogCall(context.Method, status, elapsed.TotalMilliseconds, context.Peer);
        }
    }

    [LoggerMessage(30, LogLevel.Debug, "gRPC call {Method} ended {GrpcStatus} in {ElapsedMs:0.000} ms from {Peer}")]
    private partial void LogCall(string method, StatusCode grpcStatus, double elapsedMs, string peer);
}

/// <summary>
/// Meter <see cref="MeterName"/>: <c>rpc.server.calls</c> and <c>rpc.server.call.duration</c>
/// tagged <c>rpc.service</c>, <c>rpc.method</c> and <c>rpc.grpc.status_code</c> (the status name).
/// </summary>
internal sealed class CallInstruments
{
    /// <summary>The meter of the per-call instruments.</summary>
    public const string MeterName = "LeaseService.Rpc";

    /// <summary>Call duration buckets in seconds: 100 µs to 10 s.</summary>
    private static readonly double[] DurationBounds =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Counter<long> _calls;
    private readonly Histogram<double> _duration;
    private readonly ConcurrentDictionary<string, MethodTags> _methods = new(StringComparer.Ordinal);

    public CallInstruments(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _calls = meter.CreateCounter<long>("rpc.server.calls", "{call}", "gRPC calls handled, by service, method and status.");
        _duration = meter.CreateHistogram(
            "rpc.server.call.duration",
            unit: "s",
            description: "Duration of gRPC calls, by service, method and status.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBounds });
    }

    public void Record(string fullMethod, StatusCode status, double seconds)
    {
        var method = MethodTags.Of(fullMethod, _methods);
        var tags = new TagList
        {
            { "rpc.service", method.Service },
            { "rpc.method", method.Method },
            { "rpc.grpc.status_code", StatusNames.Of(status) },
        };
        _calls.Add(1, tags);
        _duration.Record(seconds, tags);
    }

    /// <summary>
    /// A method's service and method tag values, split once per method and kept (at most
    /// <see cref="MaxCachedMethods"/>; past that they are split per call), so a call allocates no
    /// string for its tags.
    /// </summary>
    private sealed record MethodTags(string Service, string Method)
    {
        public const int MaxCachedMethods = 256;

        public static MethodTags Of(string fullMethod, ConcurrentDictionary<string, MethodTags> cache)
        {
            if (cache.TryGetValue(fullMethod, out var tags))
            {
                return tags;
            }

            // "/leases.v1.LeaseService/RenewLease" → service, method.
            var slash = fullMethod.LastIndexOf('/');
            tags = new MethodTags(slash > 0 ? fullMethod[1..slash] : fullMethod, fullMethod[(slash + 1)..]);
            return cache.Count < MaxCachedMethods ? cache.GetOrAdd(fullMethod, tags) : tags;
        }
    }

    /// <summary>Status names made once, so a call allocates no string for its tag.</summary>
    private static class StatusNames
    {
        private static readonly Dictionary<StatusCode, string> Names = Enum.GetValues<StatusCode>().ToDictionary(s => s, s => s.ToString());

        public static string Of(StatusCode status) => Names.TryGetValue(status, out var name) ? name : status.ToString();
    }
}
