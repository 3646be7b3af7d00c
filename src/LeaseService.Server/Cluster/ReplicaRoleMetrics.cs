using System.Diagnostics.Metrics;
using LeaseService.Server.Monitoring;

namespace LeaseService.Server.Cluster;

/// <summary>
/// The replica's role as metrics (meter <see cref="LeaseMonitor.MeterName"/>), both observed at
/// collection, so they are exported from the start whenever the exporter starts:
/// <c>leaseservice.replica.active</c>, 1 while this replica is the active one (always on a single
/// server; it serves once its state is loaded, as <c>leaseservice.storage.healthy</c> shows), 0 on
/// a standby; and <c>leaseservice.replica.activations</c>, the times it became the active one.
/// </summary>
internal static class ReplicaRoleMetrics
{
    /// <summary>Creates the role's instruments on the server's meter.</summary>
    public static void Observe(IReplicaRole role, IMeterFactory meters)
    {
        var meter = meters.Create(LeaseMonitor.MeterName);
        meter.CreateObservableGauge("leaseservice.replica.active", () => role.IsActive ? 1 : 0, "{replica}",
            "1 while this replica is the active one, which serves leases.v1 calls once its state is loaded (a single server always is); 0 on a standby.");
        meter.CreateObservableCounter("leaseservice.replica.activations", () => role.Activations, "{election}",
            "Times this replica became the active replica (a single server: once, at start).");
    }
}
