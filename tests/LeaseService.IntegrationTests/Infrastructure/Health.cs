using Grpc.Core;
using Grpc.Health.V1;
using LeaseService.Testing;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>grpc.health.v1 from the outside: Check, and Watch read one status at a time.</summary>
public static class Health
{
    public const string LeaseServiceName = "leases.v1.LeaseService";

    /// <summary>Opens a Watch on <paramref name="service"/>; the first status arrives at once.</summary>
    public static HealthWatch StartWatch(CallInvoker invoker, string service = LeaseServiceName)
        => new(new Grpc.Health.V1.Health.HealthClient(invoker).Watch(new HealthCheckRequest { Service = service }));

    /// <summary>
    /// Waits until the lease service is SERVING, through a Watch. With <paramref name="retryWhileUnreachable"/>
    /// (a server that may still be starting, e.g. a container), a refused connection is retried a
    /// few times, 250 ms apart, for at most 30 s: only at start-up, never to wait for lease time.
    /// </summary>
    public static async Task WaitForServingAsync(CallInvoker channel, bool retryWhileUnreachable)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var watch = StartWatch(channel);
                while (await watch.NextAsync() != ServingStatus.Serving)
                {
                }

                return;
            }
            catch (RpcException ex) when (retryWhileUnreachable && ex.StatusCode == StatusCode.Unavailable && started.Elapsed < LeaseService.Testing.TaskExtensions.Timeout)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }
    }
}

/// <summary>A health Watch stream, read one status at a time, each read bounded by the default timeout.</summary>
public sealed class HealthWatch : IDisposable
{
    private readonly AsyncServerStreamingCall<HealthCheckResponse> _call;
    private readonly IAsyncEnumerator<HealthCheckResponse> _responses;

    public HealthWatch(AsyncServerStreamingCall<HealthCheckResponse> call)
    {
        _call = call;
        _responses = call.ResponseStream.ReadAllAsync().GetAsyncEnumerator();
    }

    /// <summary>The next status; throws <see cref="RpcException"/> when the stream ends with an error.</summary>
    public async Task<ServingStatus> NextAsync()
    {
        if (!await _responses.MoveNextAsync().AsTask().DefaultTimeout())
        {
            throw new InvalidOperationException($"The Watch stream ended with {_call.GetStatus()}.");
        }

        return _responses.Current.Status;
    }

    public void Dispose()
    {
        _call.Dispose();
        _ = _responses.DisposeAsync().AsTask();
    }
}
