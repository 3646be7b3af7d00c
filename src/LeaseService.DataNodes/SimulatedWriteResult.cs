using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes;

/// <summary>How a pipeline write ended.</summary>
public enum SimulatedWriteStatus
{
    /// <summary>Every targeted DataNode took the data.</summary>
    Written,

    /// <summary>
    /// A DataNode refused the writer's generation stamp as stale: a block recovery moved the replica
    /// to a newer one (or owns it now). This is the fencing a paused writer meets; map it to ABORTED.
    /// </summary>
    StaleGenerationStamp,

    /// <summary>
    /// A DataNode's replica cannot take this write (RWR after a restart, FINALIZED at the same
    /// generation stamp, TEMPORARY, or under a recovery with an older id), or the pipeline does not
    /// end at the write's <see cref="PipelineWrite.Offset"/>; map it to FAILED_PRECONDITION.
    /// </summary>
    ReplicaNotWritable,

    /// <summary>A DataNode in the pipeline is stopped or did not answer in time; map it to UNAVAILABLE.</summary>
    DataNodeUnavailable,

    /// <summary>
    /// Another write of the block was in progress on a DataNode of the pipeline, which takes one
    /// writer per replica (as HDFS's DataNode refuses a second writer): nothing written. Map it to
    /// UNAVAILABLE: retry once that write has ended.
    /// </summary>
    ConcurrentWrite,
}

/// <summary>The outcome of a <see cref="PipelineWrite"/>.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Message">A sentence saying what happened, naming the DataNode that refused.</param>
/// <param name="Replicas">The replicas that received the data, in pipeline order, as they are after the write.</param>
/// <param name="FailedDataNodeId">The DataNode where the pipeline broke, if it did.</param>
public sealed record SimulatedWriteResult(
    SimulatedWriteStatus Status,
    string Message,
    IReadOnlyList<SimulatedReplica> Replicas,
    string? FailedDataNodeId);
