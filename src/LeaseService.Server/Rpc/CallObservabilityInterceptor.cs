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
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        RefuseWhenStopping(context);
        var start = Stopwatch.GetTimestamp();
        try
        {
            var response = await continuation(request, context).ConfigureAwait(false);
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
        RefuseWhenStopping(context);
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

    private void RefuseWhenStopping(ServerCallContext context)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested
            && !context.Method.StartsWith("/" + HealthChecksSetup.HealthServiceName + "/", StringComparison.Ordinal))
        {
            instruments.Record(context.Method, StatusCode.Unavailable, 0);
            throw new RpcException(new Status(StatusCode.Unavailable, "Server is shutting down"));
        }
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
        // "/leases.v1.LeaseService/RenewLease" → service, method.
        var slash = fullMethod.LastIndexOf('/');
        var tags = new TagList
        {
            { "rpc.service", slash > 0 ? fullMethod[1..slash] : fullMethod },
            { "rpc.method", fullMethod[(slash + 1)..] },
            { "rpc.grpc.status_code", StatusNames.Of(status) },
        };
        _calls.Add(1, tags);
        _duration.Record(seconds, tags);
    }

    /// <summary>Status names made once, so a call allocates no string for its tag.</summary>
    private static class StatusNames
    {
        private static readonly Dictionary<StatusCode, string> Names = Enum.GetValues<StatusCode>().ToDictionary(s => s, s => s.ToString());

        public static string Of(StatusCode status) => Names.TryGetValue(status, out var name) ? name : status.ToString();
    }
}
