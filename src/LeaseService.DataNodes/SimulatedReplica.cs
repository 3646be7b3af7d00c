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
