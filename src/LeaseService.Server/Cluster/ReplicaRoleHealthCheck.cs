using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LeaseService.Server.Cluster;

/// <summary>
/// Part of <c>leases.v1.LeaseService</c> and <c>leases.v1.DataNodeSimulator</c> health (not of <c>""</c>): healthy on the active replica
/// (and a standalone server), unhealthy on a standby, naming the active when known.
/// </summary>
internal sealed class ReplicaRoleHealthCheck(IReplicaRole role) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(role.IsActive
            ? HealthCheckResult.Healthy(role.Describe())
            : HealthCheckResult.Unhealthy($"standby: not the active replica; the active is {role.LeaderUrl ?? "unknown"}"));
}
