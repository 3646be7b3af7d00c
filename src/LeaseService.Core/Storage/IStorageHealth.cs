namespace LeaseService.Core.Storage;

/// <summary>Where the lease manager's state stands with its store.</summary>
public enum StorageStatus
{
    /// <summary>The store is being read; nothing is served yet.</summary>
    Loading,

    /// <summary>Loaded and every write so far is durable: serving.</summary>
    Healthy,

    /// <summary>A write failed: state-changing calls are refused until a write succeeds and the state is reloaded.</summary>
    Failed,
}

/// <summary>
/// The observable storage state, for health checks: <see cref="StorageStatus.Healthy"/> means
/// serving. The host maps it to <c>leases.v1.LeaseService</c> health.
/// </summary>
public interface IStorageHealth
{
    /// <summary>The current state.</summary>
    StorageStatus StorageStatus { get; }

    /// <summary>The last write failure's reason while <see cref="StorageStatus.Failed"/>; else null.</summary>
    string? StorageFailure { get; }

    /// <summary>Raised (outside any lock) after <see cref="StorageStatus"/> changes.</summary>
    event Action<StorageStatus>? StorageStatusChanged;
}
