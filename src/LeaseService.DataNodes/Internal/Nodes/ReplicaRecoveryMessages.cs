using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Internal.Nodes;

/// <summary>HDFS's ReplicaRecoveryInfo: what initReplicaRecovery reports of a replica it took over.</summary>
internal sealed record ReplicaRecoveryInfo(long BlockId, long NumBytes, long GenerationStamp, ReplicaState OriginalState);

internal enum InitReplicaRecoveryStatus
{
    /// <summary>The replica is now RUR under the caller's recovery id; <see cref="InitReplicaRecoveryReply.Info"/> describes it.</summary>
    Initialized,

    /// <summary>The DataNode has no replica of the block (HDFS returns null).</summary>
    NoReplica,

    /// <summary>A recovery with an equal or newer id owns the replica (RecoveryInProgressException): the caller must abort.</summary>
    RecoveryInProgress,

    /// <summary>Any other refusal (IOException): stale generation stamps, an injected failure.</summary>
    Failed,
}

internal sealed record InitReplicaRecoveryReply(InitReplicaRecoveryStatus Status, ReplicaRecoveryInfo? Info, string Message)
{
    public static InitReplicaRecoveryReply NoReplica(string dataNodeId, long blockId) =>
        new(InitReplicaRecoveryStatus.NoReplica, null, $"{dataNodeId} has no replica of block {blockId}.");

    public static InitReplicaRecoveryReply Failed(string message) => new(InitReplicaRecoveryStatus.Failed, null, message);
}

internal enum UpdateReplicaStatus
{
    /// <summary>The replica was truncated to the new length and FINALIZED at the recovery id.</summary>
    Finalized,

    /// <summary>The DataNode has no replica of the block (ReplicaNotFoundException).</summary>
    ReplicaNotFound,

    /// <summary>Refused (IOException): not RUR, another recovery id owns it, too short, or an injected failure.</summary>
    Failed,
}

internal sealed record UpdateReplicaReply(UpdateReplicaStatus Status, string Message);

internal enum WriteReplicaStatus
{
    Written,
    StaleGenerationStamp,
    NotWritable,

    /// <summary>Another write holds the replica (one writer per replica); nothing written.</summary>
    Busy,
}

internal sealed record WriteReplicaReply(WriteReplicaStatus Status, SimulatedReplica? Replica, string Message);
