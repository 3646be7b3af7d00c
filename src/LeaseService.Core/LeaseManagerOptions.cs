namespace LeaseService.Core;

/// <summary>Limits the lease manager enforces.</summary>
public sealed record LeaseManagerOptions
{
    /// <summary>After this long without renewal another writer may recover the path. Default 60 s; &gt; 0.</summary>
    public TimeSpan SoftLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>After this long without renewal the service recovers the lease itself. Default 1 h; ≥ SoftLimit.</summary>
    public TimeSpan HardLimit { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A block-recovery attempt younger than this is not replaced; an older one is retried. Default 90 s.</summary>
    public TimeSpan RecoveryTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>DataNodes per new block's pipeline. Default 3.</summary>
    public int ReplicationFactor { get; init; } = 3;

    /// <summary>FINALIZED replicas a block needs to be complete. Default 1.</summary>
    public int MinReplication { get; init; } = 1;

    /// <summary>
    /// Block-recovery attempts that wait for replicas on DataNodes that are down. Later attempts
    /// recover from the live replicas only, and drop the last block when none is live. Default 3; ≥ 1.
    /// </summary>
    public int DeadReplicaGraceAttempts { get; init; } = 3;

    /// <summary>
    /// Files the monitor handles per lock hold (across leases, oldest first); the lock is released
    /// between batches. Bounds how long a caller can wait for the lock behind the monitor. A batch
    /// also holds fewer files than the store's keys per atomic write (etcd: 127). Default 128; ≥ 1.
    /// </summary>
    public int MonitorBatchSize { get; init; } = 128;

    /// <summary>
    /// The most blocks a file may have: AddBlock on a file that has them is refused
    /// (FailedPrecondition; the writer closes it and goes on in another file). Bounds a file's
    /// record, which is written whole with every change. Default 10,240, HDFS's
    /// <c>dfs.namenode.fs-limits.max-blocks-per-file</c>; ≥ 1.
    /// </summary>
    public int MaxBlocksPerFile { get; init; } = 10 * 1024;

    /// <summary>
    /// The most bytes a block adds to a file's record with <paramref name="replication"/> locations
    /// whose DataNode ids are at most <paramref name="longestDataNodeId"/> UTF-8 bytes: for sizing
    /// <see cref="MaxBlocksPerFile"/> against a store's limit on one record.
    /// </summary>
    public static int RecordBytesPerBlock(int replication, int longestDataNodeId)
        => Internal.Storage.RecordCodec.BlockRecordBytes(replication, longestDataNodeId);
}
