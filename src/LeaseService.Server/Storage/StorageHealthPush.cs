using Grpc.HealthCheck;
using LeaseService.Core.Storage;
using LeaseService.Server.Health;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Storage;

/// <summary>
/// Pushes storage changes (loaded, a write failed, reloaded) and role changes (elected, deposed)
/// to health Watch streams of <c>leases.v1.LeaseService</c> at once, rather than at the
/// health-check publisher's next round.
/// </summary>
internal sealed class StorageHealthPush(IStorageHealth storage, Cluster.IReplicaRole role, HealthServiceImpl health, IHostApplicationLifetime lifetime) : IHostedService
{
    private readonly Lock _gate = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        storage.StorageStatusChanged += OnChanged;
        role.Changed += OnRoleChanged;
        OnChanged(storage.StorageStatus);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        storage.StorageStatusChanged -= OnChanged;
        role.Changed -= OnRoleChanged;
        return Task.CompletedTask;
    }

    private void OnRoleChanged() => OnChanged(storage.StorageStatus);

    private void OnChanged(StorageStatus _)
    {
        // Read the current status under a gate so two racing events never leave a stale value.
        lock (_gate)
        {
            if (!lifetime.ApplicationStopping.IsCancellationRequested)
            {
                health.SetStatus(HealthChecksSetup.LeaseServiceName, storage.StorageStatus == StorageStatus.Healthy && role.IsActive ? ServingStatus.Serving : ServingStatus.NotServing);
            }
        }
    }
}
