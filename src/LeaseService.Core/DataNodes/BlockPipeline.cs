namespace LeaseService.Core.DataNodes;

/// <summary>
/// The DataNode pipeline a client's block bytes flow through (HDFS's DataStreamer → DataNodes).
/// The core's <see cref="FencedBlockWriter"/> checks the writer's fencing token before and after
/// a write and never reaches the pipeline for a fenced writer; an adapter (the simulated cluster,
/// or real DataNodes) moves the bytes.
/// </summary>
public interface IBlockPipeline
{
    /// <summary>Sends <paramref name="write"/> down its pipeline. Expected refusals are results, not exceptions.</summary>
    /// <exception cref="ArgumentException">The write is malformed (an empty or repeated pipeline, a count or length out of range).</exception>
    Task<PipelineWriteResult> WriteAsync(PipelineWrite write, CancellationToken cancellationToken);
}

/// <summary>
/// One client write to one block. Every DataNode takes the data at the byte where the writer's
/// stream ends (the longest replica of the pipeline); one whose replica ends elsewhere (it missed
/// data after an earlier break) refuses it, and the pipeline breaks there. With
/// <see cref="Offset"/> the writer names that byte, and a pipeline that ends elsewhere refuses the
/// whole write (<see cref="PipelineWriteStatus.ReplicaNotWritable"/>, naming the block's length)
/// before anything is written: a retry of a write whose answer was lost does not append twice.
/// A close (<see cref="Finalize"/>, no data) with an offset is taken again by replicas already
/// FINALIZED at that length (HDFS's recoverClose), so a close whose answer was lost can be confirmed.
/// </summary>
/// <param name="Pipeline">The block's DataNodes, in order (the NameNode's locations).</param>
/// <param name="BlockId">The block.</param>
/// <param name="GenerationStamp">The generation stamp the writer holds.</param>
/// <param name="Data">The bytes appended to each replica.</param>
/// <param name="StopAfterReplicas">When &gt; 0, only the first N DataNodes receive the data (a broken pipeline).</param>
/// <param name="ReplicaLengths">When not empty, replica i receives the first <c>ReplicaLengths[i]</c> bytes.</param>
/// <param name="Finalize">Close the pipeline after the write: replicas that received it become FINALIZED.</param>
/// <param name="Offset">When set (≥ 0), the byte of the block the data starts at: the write is refused, with nothing written, unless the pipeline's longest replica ends there. Null: wherever it ends.</param>
public sealed record PipelineWrite(
    IReadOnlyList<string> Pipeline,
    long BlockId,
    long GenerationStamp,
    ReadOnlyMemory<byte> Data,
    int StopAfterReplicas = 0,
    IReadOnlyList<long>? ReplicaLengths = null,
    bool Finalize = false,
    long? Offset = null);

/// <summary>How a pipeline write ended.</summary>
public enum PipelineWriteStatus
{
    /// <summary>Every targeted DataNode took the data.</summary>
    Written,

    /// <summary>A DataNode refused the generation stamp as stale: a recovery fenced the writer.</summary>
    StaleGenerationStamp,

    /// <summary>A replica cannot take this write (RWR, FINALIZED at the same stamp, under an older recovery), or the block does not end at the write's offset.</summary>
    ReplicaNotWritable,

    /// <summary>A DataNode of the pipeline is stopped or did not answer in time.</summary>
    DataNodeUnavailable,

    /// <summary>Another write of the block was in progress on a DataNode of the pipeline (one writer per replica); nothing written, retry once it has ended.</summary>
    ConcurrentWrite,
}

/// <summary>The outcome of a <see cref="PipelineWrite"/>: how it ended, why, and the replicas that took the data.</summary>
public sealed record PipelineWriteResult(PipelineWriteStatus Status, string Message, IReadOnlyList<ReplicaReport> Replicas);
