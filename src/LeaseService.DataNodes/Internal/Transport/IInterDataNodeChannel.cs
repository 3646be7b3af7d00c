using LeaseService.DataNodes.Internal.Nodes;

namespace LeaseService.DataNodes.Internal.Transport;

/// <summary>
/// The primary's view of its peers (HDFS's InterDatanodeProtocol). Every call is asynchronous and
/// bounded by a timeout; a transport failure (unknown, stopped or silent DataNode) throws
/// <see cref="DataNodeUnreachableException"/>, a protocol refusal is a reply value. The simulated
/// cluster implements it in-process; a remote fleet would implement it over the network.
/// </summary>
internal interface IInterDataNodeChannel
{
    Task<InitReplicaRecoveryReply> InitReplicaRecoveryAsync(
        string dataNodeId, long blockId, long blockGenerationStamp, long recoveryId, CancellationToken cancellationToken);

    Task<UpdateReplicaReply> UpdateReplicaUnderRecoveryAsync(
        string dataNodeId, long blockId, long recoveryId, long newLength, CancellationToken cancellationToken);
}
