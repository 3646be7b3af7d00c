using LeaseService.Core.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LeaseService.Server.Storage;

/// <summary>
/// The storage subsystem's health check (tagged for <c>leases.v1.LeaseService</c>): healthy only
/// while the state is loaded and writes succeed; unhealthy while loading or after a failed write,
/// with the reason.
/// </summary>
internal sealed class StorageHealthCheck(IStorageHealth storage) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(storage.StorageStatus switch
        {
            StorageStatus.Healthy => HealthCheckResult.Healthy(),
            StorageStatus.Failed => HealthCheckResult.Unhealthy($"storage unavailable: {storage.StorageFailure}"),
            var status => HealthCheckResult.Unhealthy($"storage {status}"),
        });
}
