using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes;

/// <summary>A snapshot of one replica on one simulated DataNode.</summary>
/// <param name="DataNodeId">The DataNode holding the replica.</param>
/// <param name="BlockId">The block.</param>
/// <param name="State">The replica's state.</param>
/// <param name="NumBytes">How many bytes the replica holds.</param>
/// <param name="GenerationStamp">The replica's generation stamp.</param>
/// <param name="RecoveryId">The recovery id owning the replica while it is RUR; 0 otherwise.</param>
public sealed record SimulatedReplica(
    string DataNodeId,
    long BlockId,
    ReplicaState State,
    long NumBytes,
    long GenerationStamp,
    long RecoveryId);

/// <summary>A snapshot of one simulated DataNode.</summary>
/// <param name="DataNodeId">Its id ("dn-1", "dn-2", ...).</param>
/// <param name="Running">Whether it is up; a stopped DataNode refuses every call.</param>
/// <param name="ReplicaCount">How many replicas it holds.</param>
public sealed record SimulatedDataNodeInfo(string DataNodeId, bool Running, int ReplicaCount);

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

/// <summary>Thrown by the simulator's control API for a DataNode id the cluster does not have.</summary>
public sealed class DataNodeNotFoundException : Exception
{
    /// <summary>Creates the exception for <paramref name="dataNodeId"/>.</summary>
    public DataNodeNotFoundException(string dataNodeId)
        : base($"Unknown DataNode '{dataNodeId}'.")
    {
        DataNodeId = dataNodeId;
    }

    /// <summary>The id that was not found.</summary>
    public string DataNodeId { get; }
}
