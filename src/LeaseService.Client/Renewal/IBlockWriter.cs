using Google.Protobuf;
using LeaseService.Contracts.V1;

namespace LeaseService.Client.Renewal;

/// <summary>
/// Where a <see cref="LeaseWriter"/> sends a block's bytes: the block's DataNode pipeline. The
/// writer hands over the block, the generation stamp and the fencing epoch it holds; the pipeline
/// refuses a stale stamp or epoch (<see cref="LeaseFencedException"/>). The default is the server's
/// simulated DataNodes (<see cref="SimulatorBlockWriter"/>); a deployment with real DataNodes plugs
/// in its own.
/// </summary>
public interface IBlockWriter
{
    /// <summary>Appends <paramref name="data"/> to <paramref name="block"/>; with <paramref name="finalize"/> closes its pipeline.</summary>
    /// <returns>The replicas that received the data, as they are after the write.</returns>
    Task<IReadOnlyList<ReplicaInfo>> WriteAsync(Block block, ulong epoch, ReadOnlyMemory<byte> data, bool finalize, CancellationToken cancellationToken);
}

/// <summary>Writes through <c>leases.v1.DataNodeSimulator/WriteBlock</c> on the client's server.</summary>
public sealed class SimulatorBlockWriter(LeaseClient client) : IBlockWriter
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<ReplicaInfo>> WriteAsync(Block block, ulong epoch, ReadOnlyMemory<byte> data, bool finalize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        var request = new WriteBlockRequest
        {
            BlockId = block.BlockId,
            GenerationStamp = block.GenerationStamp,
            Epoch = epoch,
            Data = ByteString.CopyFrom(data.Span),
            Finalize = finalize,
        };
        var response = await client.CallAsync(options => client.Simulator.WriteBlockAsync(request, options), cancellationToken).ConfigureAwait(false);
        return response.Replicas;
    }
}
