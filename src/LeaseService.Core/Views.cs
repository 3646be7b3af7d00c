namespace LeaseService.Core;

/// <summary>A path's lease at one instant. Limits are durations so skewed client clocks can use them.</summary>
public sealed record LeaseView(
    string Path,
    string Holder,
    string ClientMachine,
    LeaseState State,
    long Epoch,
    DateTimeOffset LastRenewed,
    TimeSpan SoftLimitRemaining,
    TimeSpan HardLimitRemaining,
    long RecoveryId);

/// <summary>A block as the NameNode knows it.</summary>
public sealed record BlockView(long BlockId, long GenerationStamp, long NumBytes, BlockState State, IReadOnlyList<string> Locations);

/// <summary>A file in the namespace.</summary>
public sealed record FileView(string Path, bool UnderConstruction, long Length, string Holder, long Epoch, IReadOnlyList<BlockView> Blocks);

/// <summary>What DeleteFile removed: <see cref="Holder"/> held the file open for write (its lease on it is gone), empty when it was closed.</summary>
public sealed record DeleteResult(string Holder);

/// <summary>The answer to RecoverLease: closed, or recovery under way (poll again).</summary>
public sealed record RecoverResult(bool Closed, LeaseView? Lease, long Length);

/// <summary>A new block and the fencing epoch the writer carries on every write.</summary>
public sealed record AddBlockResult(BlockView Block, long Epoch);

/// <summary>One page of open files.</summary>
public sealed record LeasePage(IReadOnlyList<LeaseView> Leases, string NextPageToken);

/// <summary>Counts for metrics and operators.</summary>
public readonly record struct LeaseStatistics(int Holders, int OpenFiles, int Files, int Recovering, TimeSpan OldestLeaseAge)
{
    /// <summary>Files held in memory: the open ones, and closed or deleted ones whose record is not durable yet (the rest live only in the store).</summary>
    public int FilesInMemory { get; init; }
}

/// <summary>What one monitor pass did, and what it left.</summary>
public readonly record struct MonitorPassResult
{
    /// <summary>Expired leases the pass took files from.</summary>
    public int LeasesExamined { get; init; }

    /// <summary>Files past the hard limit the pass took into lease recovery.</summary>
    public int FilesExpired { get; init; }

    /// <summary>Files the pass closed at once (nothing left to recover, or an unreachable last block dropped).</summary>
    public int FilesClosed { get; init; }

    /// <summary>Block recoveries the pass started (first attempts).</summary>
    public int RecoveriesStarted { get; init; }

    /// <summary>Block-recovery attempts older than the recovery timeout that the pass started again.</summary>
    public int RecoveriesRetried { get; init; }

    /// <summary>Block recoveries committed by their primary since the previous pass (files closed).</summary>
    public long RecoveriesCommitted { get; init; }

    /// <summary>Block-recovery attempts that failed since the previous pass (each is retried after the recovery timeout).</summary>
    public long RecoveriesFailed { get; init; }

    /// <summary>Files still past the hard limit when the pass ended.</summary>
    public int BacklogFiles { get; init; }

    /// <summary>How far the oldest lease is past the hard limit when the pass ended (zero when none is).</summary>
    public TimeSpan OldestOverdue { get; init; }

    /// <summary>Lock holds (batches) of the pass.</summary>
    public int Batches { get; init; }

    /// <summary>Time the pass held the lock, on the work clock (what the budget limits).</summary>
    public TimeSpan LockHeld { get; init; }

    /// <summary>Time from the pass's start until its changes were durable and dispatched, on the work clock.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The pass stopped because its budget was spent while work was left: run the next pass soon.</summary>
    public bool BudgetExhausted { get; init; }

    /// <summary>Whether the pass changed or learned anything worth a summary.</summary>
    public bool DidWork => FilesExpired > 0 || RecoveriesRetried > 0 || RecoveriesCommitted > 0 || RecoveriesFailed > 0;
}
