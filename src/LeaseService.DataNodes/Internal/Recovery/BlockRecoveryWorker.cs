using LeaseService.Core.DataNodes;
using LeaseService.DataNodes.Internal.Logging;
using LeaseService.DataNodes.Internal.Nodes;
using LeaseService.DataNodes.Internal.Transport;
using Microsoft.Extensions.Logging;

namespace LeaseService.DataNodes.Internal.Recovery;

/// <summary>
/// What the primary DataNode runs for one recovery command: HDFS's
/// BlockRecoveryWorker.RecoveryTaskContiguous (recover, then syncBlock). It reaches every location,
/// itself included, through the inter-DataNode channel, and returns the commit it would send to
/// the NameNode or why it sends none. It never retries; retrying is the NameNode's job.
/// </summary>
internal sealed class BlockRecoveryWorker(IInterDataNodeChannel channel, ILogger logger)
{
    public async Task<BlockRecoveryResult> RecoverAsync(string primaryId, BlockRecoveryCommand command, CancellationToken cancellationToken)
    {
        var blockId = command.BlockId;
        var recoveryId = command.RecoveryId;
        // A location named twice would meet its own recovery id on the second call and abort the
        // task as superseded; ask each DataNode once.
        var locations = command.Locations.Distinct(StringComparer.Ordinal).ToArray();
        DataNodeLog.RecoveryStarted(logger, primaryId, blockId, command.GenerationStamp, recoveryId, locations);

        // Take every replica over for this recovery id, and keep those that can take part: a
        // valid generation stamp, some bytes, and an original state of RWR or better.
        var syncList = new List<ReplicaRecord>(locations.Length);
        var failed = new List<string>();
        var failures = new List<string>();
        var candidates = 0;
        foreach (var location in locations)
        {
            InitReplicaRecoveryReply reply;
            try
            {
                reply = await channel.InitReplicaRecoveryAsync(location, blockId, command.GenerationStamp, recoveryId, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (DataNodeUnreachableException ex)
            {
                reply = InitReplicaRecoveryReply.Failed(ex.Message);
            }

            switch (reply.Status)
            {
                case InitReplicaRecoveryStatus.RecoveryInProgress:
                    // A newer recovery owns this replica: this one stops quietly, without a commit.
                    DataNodeLog.RecoverySuperseded(logger, blockId, location, recoveryId, reply.Message);
                    return new BlockRecoveryFailed(
                        blockId,
                        recoveryId,
                        BlockRecoveryFailure.SupersededByNewerRecovery,
                        $"Recovery of block {blockId} on {location} is already in progress; recovery id {recoveryId} is aborted. {reply.Message}",
                        [location]);

                case InitReplicaRecoveryStatus.Failed:
                    failed.Add(location);
                    failures.Add(reply.Message);
                    DataNodeLog.InitReplicaRecoveryFailed(logger, recoveryId, blockId, location, reply.Message);
                    break;

                case InitReplicaRecoveryStatus.NoReplica:
                    DataNodeLog.NoReplica(logger, recoveryId, blockId, location);
                    break;

                case InitReplicaRecoveryStatus.Initialized:
                    var info = reply.Info!;
                    if (info.GenerationStamp < command.GenerationStamp || info.NumBytes <= 0)
                    {
                        DataNodeLog.ReplicaIgnored(logger, recoveryId, blockId, location, info.GenerationStamp, info.NumBytes);
                        break;
                    }

                    candidates++;
                    if (info.OriginalState <= ReplicaState.Rwr)
                    {
                        syncList.Add(new ReplicaRecord(location, info));
                    }
                    else
                    {
                        DataNodeLog.ReplicaIgnoredByState(logger, recoveryId, blockId, location, info.OriginalState);
                    }

                    break;
            }
        }

        if (failed.Count == locations.Length)
        {
            return Fail(
                command,
                BlockRecoveryFailure.AllDataNodesFailed,
                $"All datanodes failed: block={blockId}, datanodeids=[{string.Join(", ", locations)}]. {string.Join(" ", failures)}".TrimEnd(),
                failed);
        }

        if (candidates > 0 && syncList.Count == 0)
        {
            return Fail(
                command,
                BlockRecoveryFailure.NoReplicaInRecoverableState,
                $"Found {candidates} replica(s) for block {blockId} but none is in RWR or better state. datanodeids=[{string.Join(", ", locations)}]",
                failed);
        }

        if (syncList.Count == 0 && failed.Count > 0)
        {
            // HDFS commits a delete here; an unreachable replica may hold the data, so fail and
            // let the NameNode retry rather than throw the block away.
            return Fail(
                command,
                BlockRecoveryFailure.ReplicasUnreachable,
                $"No reachable replica of block {blockId} has data and [{string.Join(", ", failed)}] could not be asked; not deleting the block. {string.Join(" ", failures)}".TrimEnd(),
                failed);
        }

        return await SyncBlockAsync(command, syncList, cancellationToken).ConfigureAwait(false);
    }

    private async Task<BlockRecoveryResult> SyncBlockAsync(BlockRecoveryCommand command, List<ReplicaRecord> syncList, CancellationToken cancellationToken)
    {
        var blockId = command.BlockId;
        var recoveryId = command.RecoveryId;

        // No DataNode has the block, or every replica is empty: the block can be deleted.
        if (syncList.Count == 0)
        {
            string[] none = [];
            DataNodeLog.RecoveryCommitted(logger, recoveryId, blockId, 0, deleteBlock: true, none);
            return new BlockRecoveryCommitted(blockId, recoveryId, 0, none, DeleteBlock: true);
        }

        var bestState = syncList.Min(r => r.Info.OriginalState);
        List<ReplicaRecord> participants;
        long newLength;
        if (bestState == ReplicaState.Finalized)
        {
            // The finalized length wins; RBW replicas of exactly that length join, RWR never does.
            // FINALIZED replicas that disagree (HDFS fails the recovery, and so every retry: the
            // file never closes) are decided by the latest decision, the highest generation stamp
            // (a recovery that finalized replicas but never committed, over the writer's close),
            // then the longest; the others are left out as stale.
            var finalized = syncList.Where(r => r.Info.OriginalState == ReplicaState.Finalized).ToList();
            var stamp = finalized.Max(r => r.Info.GenerationStamp);
            newLength = finalized.Where(r => r.Info.GenerationStamp == stamp).Max(r => r.Info.NumBytes);
            participants = syncList
                .Where(r => r.Info.OriginalState == ReplicaState.Finalized
                    ? r.Info.GenerationStamp == stamp && r.Info.NumBytes == newLength
                    : r.Info.OriginalState == ReplicaState.Rbw && r.Info.NumBytes == newLength)
                .ToList();
            if (finalized.Exists(r => r.Info.GenerationStamp != stamp || r.Info.NumBytes != newLength))
            {
                DataNodeLog.InconsistentFinalized(
                    logger,
                    recoveryId,
                    blockId,
                    string.Join(", ", finalized.Select(r => $"{r.DataNodeId}: {r.Info.NumBytes} bytes at {r.Info.GenerationStamp}")),
                    newLength,
                    stamp);
            }
        }
        else
        {
            // RBW or RWR: only replicas in the best state take part, cut to the shortest of them.
            participants = syncList.Where(r => r.Info.OriginalState == bestState).ToList();
            newLength = participants.Min(r => r.Info.NumBytes);
        }

        var participantIds = participants.ConvertAll(p => p.DataNodeId);
        DataNodeLog.SyncPlan(logger, recoveryId, blockId, bestState, newLength, participantIds);

        var succeeded = new List<string>(participants.Count);
        var failed = new List<string>();
        foreach (var participant in participants)
        {
            UpdateReplicaReply reply;
            try
            {
                reply = await channel.UpdateReplicaUnderRecoveryAsync(participant.DataNodeId, blockId, recoveryId, newLength, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (DataNodeUnreachableException ex)
            {
                reply = new UpdateReplicaReply(UpdateReplicaStatus.Failed, ex.Message);
            }

            if (reply.Status == UpdateReplicaStatus.Finalized)
            {
                succeeded.Add(participant.DataNodeId);
            }
            else
            {
                // HDFS-12070: a failed participant is dropped, not fatal.
                failed.Add(participant.DataNodeId);
                DataNodeLog.UpdateReplicaFailed(logger, recoveryId, blockId, participant.DataNodeId, reply.Message);
            }
        }

        if (succeeded.Count == 0)
        {
            return Fail(
                command,
                BlockRecoveryFailure.AllParticipantsFailed,
                $"Cannot recover block {blockId}, the following datanodes failed: [{string.Join(", ", failed)}]",
                failed);
        }

        DataNodeLog.RecoveryCommitted(logger, recoveryId, blockId, newLength, deleteBlock: false, succeeded);
        return new BlockRecoveryCommitted(blockId, recoveryId, newLength, succeeded, DeleteBlock: false);
    }

    private BlockRecoveryFailed Fail(BlockRecoveryCommand command, BlockRecoveryFailure reason, string message, IReadOnlyList<string> failedDataNodes)
    {
        DataNodeLog.RecoveryFailed(logger, command.RecoveryId, command.BlockId, reason, message);
        return new BlockRecoveryFailed(command.BlockId, command.RecoveryId, reason, message, failedDataNodes);
    }

    private sealed record ReplicaRecord(string DataNodeId, ReplicaRecoveryInfo Info);
}
