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

/// <summary>What one monitor pass did.</summary>
public readonly record struct MonitorPassResult(int LeasesExamined, int FilesClosed, int RecoveriesStarted, int RecoveriesRetried, bool BudgetExhausted);
