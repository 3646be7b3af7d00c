using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using LeaseService.Server.Cluster;
using LeaseService.Server.Health;

namespace LeaseService.Server.Rpc;

/// <summary>
/// Every call to every service: refused with UNAVAILABLE once the host is stopping (calls in
/// flight finish; health calls are answered, and Watch streams end with the drain), and every
/// <c>leases.v1</c> call refused with UNAVAILABLE "not the active replica" (trailer
/// <c>leader-url</c> when the active is known) while this replica is a standby; counted and timed by service, method and status (<see cref="CallInstruments"/>),
/// and one Debug event (id 30) with method, status and duration.
/// </summary>
internal sealed partial class CallObservabilityInterceptor(
    IHostApplicationLifetime lifetime,
    HealthDrain drain,
    IReplicaRole role,
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

    /// <summary>The trailer naming the active replica's advertised URL in a standby's refusal.</summary>
    public const string LeaderUrlTrailer = "leader-url";

    private const string LeasesPackagePrefix = "/leases.v1.";

    /// <summary>
    /// Once the host is stopping, or on a standby for <c>leases.v1</c> calls: the call recorded as
    /// UNAVAILABLE and the exception that refuses it; otherwise null.
    /// </summary>
    private RpcException? Refusal(ServerCallContext context)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested
            && !context.Method.StartsWith("/" + HealthChecksSetup.HealthServiceName + "/", StringComparison.Ordinal))
        {
            instruments.Record(context.Method, StatusCode.Unavailable, 0);
            return new RpcException(new Status(StatusCode.Unavailable, "Server is shutting down"));
        }

        if (!role.IsActive && context.Method.StartsWith(LeasesPackagePrefix, StringComparison.Ordinal))
        {
            instruments.Record(context.Method, StatusCode.Unavailable, 0);
            var trailers = new Metadata();
            if (role.LeaderUrl is { Length: > 0 } leader)
            {
                trailers.Add(LeaderUrlTrailer, leader);
            }

            return new RpcException(new Status(StatusCode.Unavailable, "not the active replica"), trailers);
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
