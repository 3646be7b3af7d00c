using Grpc.HealthCheck;
using LeaseService.Core.Storage;
using LeaseService.Server.Health;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Storage;

/// <summary>
/// Pushes storage changes to health Watch streams at once (the health-check publisher would take
/// up to a second), and keeps the health service's own status of <c>leases.v1.LeaseService</c> in
/// step with <see cref="StorageHealthCheck"/>, so the drain's NOT_SERVING is always a change.
/// </summary>
internal sealed class StorageHealthPush(IStorageHealth storage, HealthServiceImpl health, IHostApplicationLifetime lifetime) : IHostedService
{
    private readonly Lock _gate = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        storage.StorageStatusChanged += OnChanged;
        OnChanged(storage.StorageStatus);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        storage.StorageStatusChanged -= OnChanged;
        return Task.CompletedTask;
    }

    private void OnChanged(StorageStatus _)
    {
        // Read the current status under a gate so two racing events never leave a stale value.
        lock (_gate)
        {
            if (!lifetime.ApplicationStopping.IsCancellationRequested)
            {
                health.SetStatus(HealthChecksSetup.LeaseServiceName, storage.StorageStatus == StorageStatus.Healthy ? ServingStatus.Serving : ServingStatus.NotServing);
            }
        }
    }
}
