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

/// <summary>
/// An <see cref="IBlockWriter"/> whose writes can name the byte of the block they start at (HDFS
/// packets carry their offset): a pipeline that does not end there refuses the write with
/// <see cref="LeaseConflictException"/> (FAILED_PRECONDITION) and writes nothing. A
/// <see cref="LeaseWriter"/> on such a writer sends the offset with every write of data, so a write
/// retried after its answer was lost is never appended twice; it confirms such a retry with an
/// empty write at the end of the earlier attempt, and, when that attempt closed the block, with an
/// empty write with finalize there, which replicas already FINALIZED at that length must take
/// (HDFS's recoverClose) for the writer to go on into a new block. A separate interface rather than a
/// new method on <see cref="IBlockWriter"/>: existing implementations keep compiling, and the
/// writer knows whether the offset is honoured (a default method forwarding to
/// <see cref="IBlockWriter.WriteAsync"/> would drop it silently, and a retry would append again).
/// </summary>
public interface IOffsetBlockWriter : IBlockWriter
{
    /// <summary>
    /// Writes <paramref name="data"/> to <paramref name="block"/> at byte <paramref name="offset"/>,
    /// which must be where the block's pipeline ends; with <paramref name="finalize"/> closes its pipeline.
    /// </summary>
    /// <returns>The replicas that received the data, as they are after the write.</returns>
    /// <exception cref="LeaseConflictException">The pipeline does not end at <paramref name="offset"/> (nothing written; the message names the block's length), or a replica cannot take the write.</exception>
    Task<IReadOnlyList<ReplicaInfo>> WriteAtAsync(Block block, ulong epoch, ulong offset, ReadOnlyMemory<byte> data, bool finalize, CancellationToken cancellationToken);
}

/// <summary>
/// Writes through <c>leases.v1.DataNodeSimulator/WriteBlock</c> on the client's server; with an
/// offset (<see cref="WriteAtAsync"/>) the request carries it.
/// </summary>
public sealed class SimulatorBlockWriter(LeaseClient client) : IOffsetBlockWriter
{
    /// <inheritdoc />
    public Task<IReadOnlyList<ReplicaInfo>> WriteAsync(Block block, ulong epoch, ReadOnlyMemory<byte> data, bool finalize, CancellationToken cancellationToken)
        => SendAsync(block, epoch, offset: null, data, finalize, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ReplicaInfo>> WriteAtAsync(Block block, ulong epoch, ulong offset, ReadOnlyMemory<byte> data, bool finalize, CancellationToken cancellationToken)
        => SendAsync(block, epoch, offset, data, finalize, cancellationToken);

    private async Task<IReadOnlyList<ReplicaInfo>> SendAsync(Block block, ulong epoch, ulong? offset, ReadOnlyMemory<byte> data, bool finalize, CancellationToken cancellationToken)
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
        if (offset is { } at)
        {
            request.Offset = at;
        }

        var response = await client.CallAsync(options => client.Simulator.WriteBlockAsync(request, options), cancellationToken).ConfigureAwait(false);
        return response.Replicas;
    }
}
