using LeaseService.Core.Storage;
using LeaseService.Rpc.AspNetCore;
using ServingStatus = LeaseService.Rpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Storage;

/// <summary>
/// Maps <see cref="IStorageHealth"/> onto the health of <c>leases.v1.LeaseService</c>: SERVING only
/// while the state is loaded and writes succeed. The one place health learns about storage.
/// </summary>
internal sealed class StorageHealthReporter : IDisposable
{
    private readonly IStorageHealth _storage;
    private readonly HealthService _health;
    private readonly Lock _gate = new();

    public StorageHealthReporter(IStorageHealth storage, HealthService health)
    {
        _storage = storage;
        _health = health;
        _storage.StorageStatusChanged += OnChanged;
        OnChanged(_storage.StorageStatus);
    }

    public void Dispose() => _storage.StorageStatusChanged -= OnChanged;

    private void OnChanged(StorageStatus _)
    {
        // Read the current status under a gate so two racing events never leave a stale value.
        lock (_gate)
        {
            _health.SetStatus(
                Contracts.V1.LeaseServiceMethods.ServiceName,
                _storage.StorageStatus == StorageStatus.Healthy ? ServingStatus.Serving : ServingStatus.NotServing);
        }
    }
}
