using LeaseService.Core.DataNodes;

namespace LeaseService.Core;

/// <summary>
/// A client's write of block bytes, fenced: the block, its generation stamp and the file's epoch
/// must be current before anything reaches the DataNodes, and still current once they took the
/// bytes — a writer fenced while its bytes were in flight (lease recovery started meanwhile) is
/// never acknowledged; recovery decides whether those bytes are part of the file.
/// </summary>
public sealed class FencedBlockWriter(LeaseManager leases, IBlockPipeline pipeline)
{
    /// <summary>
    /// Writes through the block's pipeline; the replicas that took the data, or why not. With
    /// <paramref name="principal"/> (an authenticated caller) only the owner of the file's holder may write.
    /// With <paramref name="offset"/>, a pipeline that does not end at that byte refuses the write
    /// (FAILED_PRECONDITION, naming the block's length) and nothing is written.
    /// </summary>
    /// <exception cref="ArgumentException">The pipeline refused the write as malformed.</exception>
    public async Task<Outcome<IReadOnlyList<ReplicaReport>>> WriteAsync(
        long blockId,
        long generationStamp,
        long epoch,
        ReadOnlyMemory<byte> data,
        long? offset,
        int stopAfterReplicas,
        IReadOnlyList<long>? replicaLengths,
        bool finalize,
        string? principal,
        CancellationToken cancellationToken)
    {
        var invalid = stopAfterReplicas < 0 ? "stop_after_replicas must not be negative"
            : offset < 0 ? "offset must not be negative"
            : generationStamp <= 0 ? "generation_stamp must be positive (the one AddBlock returned)"
            : CheckReplicaLengths(replicaLengths, data.Length, pipelineLength: null);
        if (invalid is not null)
        {
            return Outcome<IReadOnlyList<ReplicaReport>>.Fail(OutcomeKind.InvalidArgument, invalid);
        }

        var before = await leases.CheckWriteAsync(blockId, generationStamp, epoch, hasData: !data.IsEmpty, principal).ConfigureAwait(false);
        if (!before.IsOk)
        {
            return before.As<IReadOnlyList<ReplicaReport>>();
        }

        var block = before.Value!;
        if (CheckReplicaLengths(replicaLengths, data.Length, block.Locations.Count) is { } tooMany)
        {
            return Outcome<IReadOnlyList<ReplicaReport>>.Fail(OutcomeKind.InvalidArgument, tooMany);
        }

        var result = await pipeline.WriteAsync(
            new PipelineWrite(block.Locations, blockId, generationStamp, data, stopAfterReplicas, replicaLengths, finalize, offset),
            cancellationToken).ConfigureAwait(false);
        var refused = result.Status switch
        {
            PipelineWriteStatus.Written => OutcomeKind.Ok,
            PipelineWriteStatus.StaleGenerationStamp => OutcomeKind.Aborted,
            PipelineWriteStatus.ReplicaNotWritable => OutcomeKind.FailedPrecondition,
            PipelineWriteStatus.ConcurrentWrite => OutcomeKind.Unavailable, // Retry once the other write has ended.
            _ => OutcomeKind.Unavailable,
        };
        if (refused != OutcomeKind.Ok)
        {
            return Outcome<IReadOnlyList<ReplicaReport>>.Fail(refused, result.Message);
        }

        var after = await leases.CheckWriteAsync(blockId, generationStamp, epoch, hasData: false).ConfigureAwait(false);
        return after.Kind switch
        {
            OutcomeKind.Ok => Outcome<IReadOnlyList<ReplicaReport>>.Ok(result.Replicas),

            // The state cannot be told now (the store failed, or the service is not serving): not
            // fenced, which would make the writer give the file up; its retry confirms the bytes.
            OutcomeKind.Unavailable => Outcome<IReadOnlyList<ReplicaReport>>.Fail(
                OutcomeKind.Unavailable,
                $"the write reached the DataNodes, but whether the writer is still current cannot be told now: {after.Message}"),
            _ => Outcome<IReadOnlyList<ReplicaReport>>.Fail(OutcomeKind.Aborted, $"the write reached the DataNodes but the writer was fenced meanwhile: {after.Message}"),
        };
    }

    /// <summary>Why <paramref name="lengths"/> do not fit the data (and the pipeline, once known), or null.</summary>
    private static string? CheckReplicaLengths(IReadOnlyList<long>? lengths, int dataLength, int? pipelineLength)
    {
        if (lengths is null)
        {
            return null;
        }

        if (pipelineLength is { } pipeline && lengths.Count > pipeline)
        {
            return $"replica_lengths has {lengths.Count} entries for a pipeline of {pipeline} DataNodes";
        }

        for (var i = 0; i < lengths.Count; i++)
        {
            if (lengths[i] < 0 || lengths[i] > dataLength)
            {
                return $"replica_lengths[{i}] must be between 0 and the {dataLength} bytes of data";
            }
        }

        return null;
    }
}
