using Grpc.Core;
using LeaseService.Server.Security;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using PipelineReplica = LeaseService.Core.DataNodes.ReplicaReport;
using LeaseService.DataNodes;
using DataNodeSimulatorBase = LeaseService.Contracts.V1.DataNodeSimulator.DataNodeSimulatorBase;
using CoreReplicaState = LeaseService.Core.DataNodes.ReplicaState;

namespace LeaseService.Server.Rpc;

/// <summary>
/// <c>leases.v1.DataNodeSimulator</c>: drives the embedded simulated DataNode cluster for tests,
/// demos and drills. Writes go through the core's <see cref="FencedBlockWriter"/> (fencing) to the
/// block's pipeline as the NameNode allocated it. Translation only.
/// </summary>
[BindServiceMethod(typeof(Utf8ValidatedBinding<DataNodeSimulatorBase>), nameof(Utf8ValidatedBinding<DataNodeSimulatorBase>.BindService))] // Strings must be valid UTF-8.
internal sealed class DataNodeSimulatorRpcService(SimulatedDataNodeCluster cluster, FencedBlockWriter writer) : DataNodeSimulatorBase
{
    public override Task<DataNodeInfo> StopDataNode(DataNodeRequest request, ServerCallContext context) => Control(request.DatanodeId, () => cluster.StopDataNode(request.DatanodeId));

    public override Task<DataNodeInfo> RestartDataNode(DataNodeRequest request, ServerCallContext context) => Control(request.DatanodeId, () => cluster.RestartDataNode(request.DatanodeId));

    public override Task<DataNodeInfo> PauseDataNode(DataNodeRequest request, ServerCallContext context) => Control(request.DatanodeId, () => cluster.PauseDataNode(request.DatanodeId));

    public override Task<DataNodeInfo> ResumeDataNode(DataNodeRequest request, ServerCallContext context) => Control(request.DatanodeId, () => cluster.ResumeDataNode(request.DatanodeId));

    public override async Task<WriteBlockResponse> WriteBlock(WriteBlockRequest request, ServerCallContext context)
    {
        // Ids, stamps, epochs, lengths and offsets are at most long.MaxValue (none above was ever issued):
        // above it, a cast would turn the caller's number into another in every answer.
        var outOfRange = request.BlockId > long.MaxValue ? "block_id"
            : request.GenerationStamp > long.MaxValue ? "generation_stamp"
            : request.Epoch > long.MaxValue ? "epoch"
            : request.ReplicaLengths.Any(l => l > long.MaxValue) ? "replica_lengths"
            : request.HasOffset && request.Offset > long.MaxValue ? "offset"
            : null;
        if (outOfRange is not null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{outOfRange} must be at most {long.MaxValue}"));
        }

        IReadOnlyList<PipelineReplica> replicas;
        try
        {
            replicas = OutcomeStatus.Unwrap(await writer.WriteAsync(
                (long)request.BlockId,
                (long)request.GenerationStamp,
                (long)request.Epoch,
                request.Data.Memory,
                request.HasOffset ? (long)request.Offset : null,
                request.StopAfterReplicas,
                request.ReplicaLengths.Count == 0 ? null : [.. request.ReplicaLengths.Select(l => (long)l)],
                request.Finalize,
                CallerPrincipal.Of(context),
                context.CancellationToken).ConfigureAwait(false));
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }

        var response = new WriteBlockResponse();
        response.Replicas.AddRange(replicas.Select(r => new ReplicaInfo
        {
            DatanodeId = r.DataNodeId,
            BlockId = (ulong)r.BlockId,
            State = ToContract(r.State),
            NumBytes = (ulong)r.NumBytes,
            GenerationStamp = (ulong)r.GenerationStamp,
        }));
        return response;
    }

    public override Task<DataNodeInfo> InjectFailure(InjectFailureRequest request, ServerCallContext context)
    {
        var step = request.Step switch
        {
            Contracts.V1.RecoveryStep.InitReplicaRecovery => DataNodes.RecoveryStep.InitReplicaRecovery,
            Contracts.V1.RecoveryStep.UpdateReplica => DataNodes.RecoveryStep.UpdateReplica,
            Contracts.V1.RecoveryStep.PrimaryCommit => DataNodes.RecoveryStep.PrimaryCommit,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "step must be INIT_REPLICA_RECOVERY, UPDATE_REPLICA or PRIMARY_COMMIT")),
        };
        if (request.Count < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "count must not be negative"));
        }

        return Control(request.DatanodeId, () => cluster.InjectFailure(request.DatanodeId, step, request.Count == 0 ? 1 : request.Count));
    }

    public override Task<ListDataNodesResponse> ListDataNodes(ListDataNodesRequest request, ServerCallContext context)
    {
        var response = new ListDataNodesResponse();
        response.Datanodes.AddRange(cluster.ListDataNodes().Select(ToContract));
        return Task.FromResult(response);
    }

    public override Task<ListReplicasResponse> ListReplicas(ListReplicasRequest request, ServerCallContext context)
    {
        var response = new ListReplicasResponse();
        response.Replicas.AddRange(cluster.ListReplicas((long)request.BlockId).Select(ToContract));
        return Task.FromResult(response);
    }

    private static Task<DataNodeInfo> Control(string dataNodeId, Func<SimulatedDataNodeInfo> action)
    {
        if (dataNodeId.Length == 0)
        {
            // A missing field, not a DataNode that does not exist.
            throw new RpcException(new Status(StatusCode.InvalidArgument, "datanode_id must not be empty (ListDataNodes names them)"));
        }

        try
        {
            return Task.FromResult(ToContract(action()));
        }
        catch (DataNodeNotFoundException ex)
        {
            throw new RpcException(new Status(StatusCode.NotFound, ex.Message));
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        catch (IOException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, ex.Message));
        }
    }

    private static DataNodeInfo ToContract(SimulatedDataNodeInfo info)
        => new() { DatanodeId = info.DataNodeId, Running = info.Running, ReplicaCount = info.ReplicaCount, Paused = info.Paused };

    private static ReplicaInfo ToContract(SimulatedReplica replica) => new()
    {
        DatanodeId = replica.DataNodeId,
        BlockId = (ulong)replica.BlockId,
        State = ToContract(replica.State),
        NumBytes = (ulong)replica.NumBytes,
        GenerationStamp = (ulong)replica.GenerationStamp,
        RecoveryId = (ulong)replica.RecoveryId,
    };

    private static ReplicaState ToContract(CoreReplicaState state) => state switch
    {
        CoreReplicaState.Finalized => ReplicaState.Finalized,
        CoreReplicaState.Rbw => ReplicaState.Rbw,
        CoreReplicaState.Rwr => ReplicaState.Rwr,
        CoreReplicaState.Rur => ReplicaState.Rur,
        CoreReplicaState.Temporary => ReplicaState.Temporary,
        _ => ReplicaState.Unspecified,
    };
}
