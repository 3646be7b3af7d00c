namespace LeaseService.DataNodes;

/// <summary>A step of block recovery into which a failure can be injected on a DataNode.</summary>
public enum RecoveryStep
{
    /// <summary>initReplicaRecovery on the DataNode fails (the primary counts it as a failed location).</summary>
    InitReplicaRecovery = 1,

    /// <summary>updateReplicaUnderRecovery on the DataNode fails (the primary drops it from the participants).</summary>
    UpdateReplica = 2,

    /// <summary>The DataNode, acting as primary, finishes the replicas and then dies before it commits: it stops.</summary>
    PrimaryCommit = 3,
}
