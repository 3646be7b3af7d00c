using LeaseService.Core.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LeaseService.Server.Storage;

/// <summary>
/// The storage subsystem's health check (tagged for <c>leases.v1.LeaseService</c>): healthy only
/// while the state is loaded and writes succeed; unhealthy while loading or after a failed write,
/// with the reason. On a standby replica the state is not loaded by design: healthy (the
/// role check says it does not serve), so <c>""</c> stays SERVING.
/// </summary>
internal sealed class StorageHealthCheck(IStorageHealth storage, Cluster.IReplicaRole role) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(storage.StorageStatus switch
        {
            StorageStatus.Loading when !role.IsActive => HealthCheckResult.Healthy("standby: the state is loaded when this replica is elected"),
            StorageStatus.Healthy => HealthCheckResult.Healthy(),
            StorageStatus.Failed => HealthCheckResult.Unhealthy($"storage unavailable: {storage.StorageFailure}"),
            var status => HealthCheckResult.Unhealthy($"storage {status}"),
        });
}
