namespace LeaseService.Core.DataNodes;

/// <summary>A DataNode as the NameNode sees it.</summary>
/// <param name="Id">Stable DataNode id.</param>
/// <param name="IsAlive">Whether it currently answers (heartbeats).</param>
/// <param name="LastHeartbeat">Monotonic timestamp (TimeProvider.GetTimestamp) of its last heartbeat.</param>
public sealed record DataNodeStatus(string Id, bool IsAlive, long LastHeartbeat);

/// <summary>What one DataNode reports of its replica of a block.</summary>
public sealed record ReplicaReport(
    string DataNodeId,
    long BlockId,
    ReplicaState State,
    long NumBytes,
    long GenerationStamp);

/// <summary>
/// The recovery command the NameNode sends to the primary DataNode (HDFS's
/// BlockRecoveryCommand / RecoveringBlock).
/// </summary>
/// <param name="BlockId">The block to recover.</param>
/// <param name="GenerationStamp">The block's generation stamp before this recovery.</param>
/// <param name="RecoveryId">The new generation stamp this recovery allocates; the block takes it on success.</param>
/// <param name="PrimaryDataNodeId">The DataNode that runs the recovery.</param>
/// <param name="Locations">Every expected replica location (the primary among them).</param>
public sealed record BlockRecoveryCommand(
    long BlockId,
    long GenerationStamp,
    long RecoveryId,
    string PrimaryDataNodeId,
    IReadOnlyList<string> Locations);

/// <summary>Why a block recovery did not commit.</summary>
public enum BlockRecoveryFailure
{
    /// <summary>Every DataNode failed initReplicaRecovery ("All datanodes failed").</summary>
    AllDataNodesFailed,

    /// <summary>Replicas were found but none is RWR or better.</summary>
    NoReplicaInRecoverableState,

    /// <summary>
    /// No reachable replica has data, but some locations could not be asked. HDFS would delete
    /// the block here; we retry instead, because the unreachable replicas may hold the data.
    /// </summary>
    ReplicasUnreachable,

    /// <summary>Every participant failed updateReplicaUnderRecovery ("Cannot recover").</summary>
    AllParticipantsFailed,

    /// <summary>A newer recovery owns a replica; this one aborted without committing.</summary>
    SupersededByNewerRecovery,

    /// <summary>The primary DataNode is down or died before committing.</summary>
    PrimaryUnavailable,

    /// <summary>The primary did not answer within the coordinator's timeout.</summary>
    TimedOut,
}

/// <summary>The primary's answer to a <see cref="BlockRecoveryCommand"/>.</summary>
public abstract record BlockRecoveryResult(long BlockId, long RecoveryId);

/// <summary>
/// The primary's commitBlockSynchronization: the block now has <paramref name="NewLength"/> bytes
/// at generation stamp <paramref name="RecoveryId"/> on <paramref name="Locations"/>, or, with
/// <paramref name="DeleteBlock"/>, no replica had data and the block is to be removed.
/// </summary>
public sealed record BlockRecoveryCommitted(
    long BlockId,
    long RecoveryId,
    long NewLength,
    IReadOnlyList<string> Locations,
    bool DeleteBlock) : BlockRecoveryResult(BlockId, RecoveryId);

/// <summary>The recovery ended without a commit; the NameNode retries later with a new recovery id.</summary>
public sealed record BlockRecoveryFailed(
    long BlockId,
    long RecoveryId,
    BlockRecoveryFailure Reason,
    string Message,
    IReadOnlyList<string> FailedDataNodes) : BlockRecoveryResult(BlockId, RecoveryId);

/// <summary>
/// The NameNode's view of the DataNodes: which are alive, what they hold, and the channel for
/// block recovery commands. Every call that reaches a DataNode is asynchronous and bounded by a
/// timeout, so a remote DataNode fleet can replace the simulation without touching the core.
/// </summary>
public interface IDataNodeCoordinator
{
    /// <summary>A snapshot of every known DataNode.</summary>
    IReadOnlyList<DataNodeStatus> GetDataNodes();

    /// <summary>Asks each of <paramref name="locations"/> for its replica of a block; absent or unreachable ones are left out.</summary>
    ValueTask<IReadOnlyList<ReplicaReport>> GetReplicasAsync(long blockId, IReadOnlyList<string> locations, CancellationToken cancellationToken);

    /// <summary>
    /// Sends the recovery command to its primary and returns the primary's outcome: the commit it
    /// would send to the NameNode, or why it failed. Never throws for DataNode failures.
    /// </summary>
    ValueTask<BlockRecoveryResult> RecoverBlockAsync(BlockRecoveryCommand command, CancellationToken cancellationToken);
}
