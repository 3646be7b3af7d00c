using System.Diagnostics.Metrics;
using LeaseService.Server.Monitoring;

namespace LeaseService.Server.Cluster;

/// <summary>
/// The replica's role as metrics (meter <see cref="LeaseMonitor.MeterName"/>):
/// <c>leaseservice.replica.active</c>, 1 while this replica is the one that serves <c>leases.v1</c>
/// (always on a single server; loading its state first, as <c>leaseservice.storage.healthy</c>
/// shows) and 0 on a standby, so across a cluster's replicas it sums to 1 while one is active; and <c>leaseservice.replica.activations</c>, the times this replica became the active one
/// (more than one over a short time is a replica losing and winning its session again). Both are
/// observed at collection, so they are exported from the start, whenever the exporter starts.
/// </summary>
internal sealed class ReplicaRoleMetrics : IDisposable
{
    private readonly IReplicaRole _role;
    private readonly Lock _lock = new();
    private long _activations;
    private bool _wasActive;

    public ReplicaRoleMetrics(IReplicaRole role, IMeterFactory meters)
    {
        _role = role;
        var meter = meters.Create(LeaseMonitor.MeterName);
        meter.CreateObservableGauge("leaseservice.replica.active", () => _role.IsActive ? 1 : 0, "{replica}",
            "1 while this replica is the active one, which serves leases.v1 calls once its state is loaded (a single server always is); 0 on a standby.");
        meter.CreateObservableCounter("leaseservice.replica.activations", () => Volatile.Read(ref _activations), "{election}",
            "Times this replica became the active replica (a single server: once, at start).");
        lock (_lock)
        {
            _role.Changed += OnChanged;
            OnChangedLocked();
        }
    }

    public void Dispose() => _role.Changed -= OnChanged;

    private void OnChanged()
    {
        lock (_lock)
        {
            OnChangedLocked();
        }
    }

    /// <summary>Counts a change from standby to active once, however often <see cref="IReplicaRole.Changed"/> is raised.</summary>
    private void OnChangedLocked()
    {
        var active = _role.IsActive;
        if (active && !_wasActive)
        {
            Volatile.Write(ref _activations, _activations + 1);
        }

        _wasActive = active;
    }
}
