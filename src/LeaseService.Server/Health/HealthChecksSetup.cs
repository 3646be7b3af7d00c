using Grpc.HealthCheck;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Health;

/// <summary>
/// <c>grpc.health.v1.Health</c> from Grpc.AspNetCore.HealthChecks, driven by ASP.NET Core health
/// checks: one per subsystem, tagged with the gRPC service it stands for; <c>""</c> is every
/// check but the replica role (a standby, which refuses every <c>leases.v1</c> call, is
/// NOT_SERVING for <c>leases.v1.LeaseService</c> and <c>leases.v1.DataNodeSimulator</c>, SERVING
/// for <c>""</c>). Check runs the checks on each call; Watch gets its first answer the same way and later
/// changes from the health-check publisher (every <see cref="PublishPeriod"/>). On shutdown
/// (<see cref="HealthDrain"/>) every Watch stream is sent NOT_SERVING, then ended.
/// </summary>
internal static class HealthChecksSetup
{
    public const string LeaseServiceName = "leases.v1.LeaseService";
    public const string DataNodeSimulatorName = "leases.v1.DataNodeSimulator";
    public const string HealthServiceName = "grpc.health.v1.Health";

    /// <summary>The tag of the replica-role check: part of <c>leases.v1.LeaseService</c> and <c>leases.v1.DataNodeSimulator</c>, not of <c>""</c> (a standby is a healthy process).</summary>
    public const string RoleTag = "role";

    /// <summary>How often Watch streams see re-evaluated checks.</summary>
    public static readonly TimeSpan PublishPeriod = TimeSpan.FromSeconds(1);

    public static IServiceCollection AddLeaseServiceHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<ServingCheck>("leases", tags: [LeaseServiceName])
            .AddCheck<ServingCheck>("datanodes", tags: [DataNodeSimulatorName]);
        services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.Zero;
            o.Period = PublishPeriod;
        });
        services.AddGrpcHealthChecks(o =>
        {
            o.Services.Map(LeaseServiceName, r => r.Tags.Contains(LeaseServiceName));
            o.Services.Map(DataNodeSimulatorName, r => r.Tags.Contains(DataNodeSimulatorName));
            o.Services.Map(string.Empty, r => !r.Tags.Contains(RoleTag));

            // HealthDrain ends Watch streams itself, after they were sent NOT_SERVING.
            o.SuppressCompletionOnShutdown = true;
        });
        services.AddSingleton<HealthDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthDrain>());
        return services;
    }

    /// <summary>Healthy while the host runs; unhealthy from the moment it starts stopping.</summary>
    private sealed class ServingCheck(IHostApplicationLifetime lifetime) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
            => Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("the server is shutting down")
                : HealthCheckResult.Healthy());
    }
}

/// <summary>
/// The drain of health Watch streams: when the host starts stopping, every service's status
/// becomes NOT_SERVING (pushed to every Watch), then — as the host's stopping phase begins, before
/// the server waits for calls in flight — the Watch streams end (their calls complete), so a
/// watcher always learns the server is going away and the drain never waits on a Watch.
/// </summary>
internal sealed class HealthDrain(IHostApplicationLifetime lifetime, HealthServiceImpl health) : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _watchesEnd = new();
    private CancellationTokenRegistration _registration;

    /// <summary>Cancelled when Watch streams must end.</summary>
    public CancellationToken WatchesEnd => _watchesEnd.Token;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _registration = lifetime.ApplicationStopping.Register(() =>
        {
            foreach (var service in new[] { string.Empty, HealthChecksSetup.LeaseServiceName, HealthChecksSetup.DataNodeSimulatorName })
            {
                health.SetStatus(service, ServingStatus.NotServing);
            }
        });
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _watchesEnd.Cancel();
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _registration.Dispose();
        _watchesEnd.Dispose();
    }
}
