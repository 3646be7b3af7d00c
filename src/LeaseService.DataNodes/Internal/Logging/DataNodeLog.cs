using LeaseService.Core.DataNodes;
using Microsoft.Extensions.Logging;

namespace LeaseService.DataNodes.Internal.Logging;

/// <summary>
/// Log messages of the DataNode side. Event ids are stable: 3000-3049 block recovery on the
/// primary, 3050-3099 the simulated cluster and its DataNodes.
/// </summary>
internal static partial class DataNodeLog
{
    [LoggerMessage(EventId = 3000, EventName = "BlockRecoveryStarted", Level = LogLevel.Information,
        Message = "Block recovery started on primary {PrimaryId}: block={BlockId} generationStamp={GenerationStamp} recoveryId={RecoveryId} locations=[{Locations}]")]
    public static partial void RecoveryStarted(ILogger logger, string primaryId, long blockId, long generationStamp, long recoveryId, IReadOnlyList<string> locations);

    [LoggerMessage(EventId = 3001, EventName = "NoReplica", Level = LogLevel.Debug,
        Message = "Block recovery {RecoveryId} of block {BlockId}: {DataNodeId} has no replica")]
    public static partial void NoReplica(ILogger logger, long recoveryId, long blockId, string dataNodeId);

    [LoggerMessage(EventId = 3008, EventName = "ReplicaIgnored", Level = LogLevel.Debug,
        Message = "Block recovery {RecoveryId} of block {BlockId}: ignored the replica on {DataNodeId} (generationStamp={GenerationStamp} length={Length})")]
    public static partial void ReplicaIgnored(ILogger logger, long recoveryId, long blockId, string dataNodeId, long generationStamp, long length);

    [LoggerMessage(EventId = 3009, EventName = "ReplicaIgnoredByState", Level = LogLevel.Debug,
        Message = "Block recovery {RecoveryId} of block {BlockId}: ignored the replica on {DataNodeId} with original state {OriginalState}")]
    public static partial void ReplicaIgnoredByState(ILogger logger, long recoveryId, long blockId, string dataNodeId, ReplicaState originalState);

    [LoggerMessage(EventId = 3002, EventName = "InitReplicaRecoveryFailed", Level = LogLevel.Warning,
        Message = "Block recovery {RecoveryId} of block {BlockId}: initReplicaRecovery failed on {DataNodeId}: {Reason}")]
    public static partial void InitReplicaRecoveryFailed(ILogger logger, long recoveryId, long blockId, string dataNodeId, string reason);

    [LoggerMessage(EventId = 3003, EventName = "BlockRecoverySuperseded", Level = LogLevel.Warning,
        Message = "Recovery of block {BlockId} on {DataNodeId} is already in progress; recovery id {RecoveryId} is aborted: {Reason}")]
    public static partial void RecoverySuperseded(ILogger logger, long blockId, string dataNodeId, long recoveryId, string reason);

    [LoggerMessage(EventId = 3004, EventName = "BlockRecoverySyncPlan", Level = LogLevel.Information,
        Message = "Block recovery {RecoveryId} of block {BlockId}: bestState={BestState} newLength={NewLength} participants=[{Participants}]")]
    public static partial void SyncPlan(ILogger logger, long recoveryId, long blockId, ReplicaState bestState, long newLength, IReadOnlyList<string> participants);

    [LoggerMessage(EventId = 3010, EventName = "InconsistentFinalizedReplicas", Level = LogLevel.Warning,
        Message = "Block recovery {RecoveryId} of block {BlockId}: FINALIZED replicas disagree ({Replicas}); keeping {NewLength} bytes at generation stamp {GenerationStamp}, the others are left out as stale")]
    public static partial void InconsistentFinalized(ILogger logger, long recoveryId, long blockId, string replicas, long newLength, long generationStamp);

    [LoggerMessage(EventId = 3005, EventName = "UpdateReplicaFailed", Level = LogLevel.Warning,
        Message = "Block recovery {RecoveryId} of block {BlockId}: failed to update the replica on {DataNodeId}, dropping it: {Reason}")]
    public static partial void UpdateReplicaFailed(ILogger logger, long recoveryId, long blockId, string dataNodeId, string reason);

    [LoggerMessage(EventId = 3006, EventName = "BlockRecoveryCommitted", Level = LogLevel.Information,
        Message = "Block recovery {RecoveryId} of block {BlockId} commits: newLength={NewLength} deleteBlock={DeleteBlock} locations=[{Locations}]")]
    public static partial void RecoveryCommitted(ILogger logger, long recoveryId, long blockId, long newLength, bool deleteBlock, IReadOnlyList<string> locations);

    [LoggerMessage(EventId = 3007, EventName = "BlockRecoveryFailed", Level = LogLevel.Warning,
        Message = "Block recovery {RecoveryId} of block {BlockId} failed ({Reason}): {Detail}")]
    public static partial void RecoveryFailed(ILogger logger, long recoveryId, long blockId, BlockRecoveryFailure reason, string detail);

    [LoggerMessage(EventId = 3050, EventName = "DataNodeStopped", Level = LogLevel.Information,
        Message = "Simulated DataNode {DataNodeId} stopped")]
    public static partial void DataNodeStopped(ILogger logger, string dataNodeId);

    [LoggerMessage(EventId = 3051, EventName = "DataNodeRestarted", Level = LogLevel.Information,
        Message = "Simulated DataNode {DataNodeId} restarted; its RBW replicas are now RWR")]
    public static partial void DataNodeRestarted(ILogger logger, string dataNodeId);

    [LoggerMessage(EventId = 3052, EventName = "FailureInjected", Level = LogLevel.Information,
        Message = "Simulated DataNode {DataNodeId}: the next {Count} {Step} step(s) will fail")]
    public static partial void FailureInjected(ILogger logger, string dataNodeId, RecoveryStep step, int count);

    [LoggerMessage(EventId = 3053, EventName = "PrimaryDiedBeforeCommit", Level = LogLevel.Warning,
        Message = "Simulated DataNode {DataNodeId} died before committing block recovery {RecoveryId} of block {BlockId} (injected)")]
    public static partial void PrimaryDiedBeforeCommit(ILogger logger, string dataNodeId, long blockId, long recoveryId);

    [LoggerMessage(EventId = 3054, EventName = "RecoveryIdRaised", Level = LogLevel.Information,
        Message = "DataNode {DataNodeId}: update recovery id for block {BlockId} from {OldRecoveryId} to {NewRecoveryId}")]
    public static partial void RecoveryIdRaised(ILogger logger, string dataNodeId, long blockId, long oldRecoveryId, long newRecoveryId);

    [LoggerMessage(EventId = 3055, EventName = "PrimaryUnreachable", Level = LogLevel.Warning,
        Message = "Block recovery {RecoveryId} of block {BlockId}: primary {PrimaryId} did not complete it: {Reason}")]
    public static partial void PrimaryUnreachable(ILogger logger, long recoveryId, long blockId, string primaryId, string reason);

    [LoggerMessage(EventId = 3056, EventName = "WriteRefused", Level = LogLevel.Debug,
        Message = "Write to block {BlockId} at generation stamp {GenerationStamp} stopped at {DataNodeId}: {Status}")]
    public static partial void WriteRefused(ILogger logger, long blockId, long generationStamp, string dataNodeId, SimulatedWriteStatus status);

    [LoggerMessage(EventId = 3057, EventName = "ReplicaUnreadable", Level = LogLevel.Warning,
        Message = "{DataNodeId} left {File} alone: it is not a replica record it can read")]
    public static partial void ReplicaUnreadable(ILogger logger, string dataNodeId, string file);
}
