namespace LeaseService.Core;

/// <summary>The state of a path's lease as a client sees it.</summary>
public enum LeaseState
{
    /// <summary>Renewed within the soft limit.</summary>
    Active,

    /// <summary>Past the soft limit: another writer may take the path over through recovery.</summary>
    SoftExpired,

    /// <summary>Lease recovery is under way.</summary>
    Recovering,
}
