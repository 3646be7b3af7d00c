using LeaseService.Core;
using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes;

/// <summary>The core's <see cref="IBlockPipeline"/> on the simulated cluster's <see cref="SimulatedDataNodeCluster.WriteAsync"/>.</summary>
public sealed class SimulatedBlockPipeline(SimulatedDataNodeCluster cluster) : IBlockPipeline
{
    /// <inheritdoc />
    public async Task<PipelineWriteResult> WriteAsync(PipelineWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        SimulatedWriteResult result;
        try
        {
            result = await cluster.WriteAsync(write, cancellationToken).ConfigureAwait(false);
        }
        catch (DataNodeNotFoundException ex)
        {
            // The NameNode allocated the block on a DataNode this cluster does not have (it was
            // configured with fewer since, e.g. across a restart): to the writer that DataNode is
            // down, as a connection refused. Nothing was written (the pipeline is checked first).
            return new PipelineWriteResult(
                PipelineWriteStatus.DataNodeUnavailable,
                $"The pipeline for block {write.BlockId} names {LeaseValidation.Echo(ex.DataNodeId)}, which is not a DataNode of this cluster.",
                []);
        }

        var status = result.Status switch
        {
            SimulatedWriteStatus.Written => PipelineWriteStatus.Written,
            SimulatedWriteStatus.StaleGenerationStamp => PipelineWriteStatus.StaleGenerationStamp,
            SimulatedWriteStatus.ReplicaNotWritable => PipelineWriteStatus.ReplicaNotWritable,
            SimulatedWriteStatus.ConcurrentWrite => PipelineWriteStatus.ConcurrentWrite,
            _ => PipelineWriteStatus.DataNodeUnavailable,
        };
        return new PipelineWriteResult(
            status,
            result.Message,
            [.. result.Replicas.Select(r => new ReplicaReport(r.DataNodeId, r.BlockId, r.State, r.NumBytes, r.GenerationStamp))]);
    }
}
