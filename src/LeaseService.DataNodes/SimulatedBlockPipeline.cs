using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes;

/// <summary>The core's <see cref="IBlockPipeline"/> on the simulated cluster's <see cref="SimulatedDataNodeCluster.WriteAsync"/>.</summary>
public sealed class SimulatedBlockPipeline(SimulatedDataNodeCluster cluster) : IBlockPipeline
{
    /// <inheritdoc />
    public async Task<PipelineWriteResult> WriteAsync(PipelineWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        var result = await cluster.WriteAsync(write, cancellationToken).ConfigureAwait(false);
        var status = result.Status switch
        {
            SimulatedWriteStatus.Written => PipelineWriteStatus.Written,
            SimulatedWriteStatus.StaleGenerationStamp => PipelineWriteStatus.StaleGenerationStamp,
            SimulatedWriteStatus.ReplicaNotWritable => PipelineWriteStatus.ReplicaNotWritable,
            _ => PipelineWriteStatus.DataNodeUnavailable,
        };
        return new PipelineWriteResult(
            status,
            result.Message,
            [.. result.Replicas.Select(r => new ReplicaReport(r.DataNodeId, r.BlockId, r.State, r.NumBytes, r.GenerationStamp))]);
    }
}
