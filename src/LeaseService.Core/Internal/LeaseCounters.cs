namespace LeaseService.Core.Internal;

/// <summary>
/// Running totals of lease transitions. Written only under the manager's lock, at the transition
/// itself (a plain increment: no listener code, no allocation under the lock); read without it by
/// the meter's observable counters, which only need a recent value.
/// </summary>
internal struct LeaseCounters
{
    public long Grants;
    public long Renewals;
    public long Releases;
    public long Expiries;
    public long Takeovers;
    public long RecoveryRequests;
    public long RecoveriesStarted;
    public long RecoveriesRetried;
    public long RecoveriesSucceeded;
    public long RecoveriesFailed;
    public long Deletes;
    public long StorageBatches;
    public long StorageRecords;
}
