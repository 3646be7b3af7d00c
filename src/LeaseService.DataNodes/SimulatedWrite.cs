namespace LeaseService.DataNodes;

/// <summary>
/// A client write through a block's pipeline, in HDFS's two steps. Setup: every DataNode the write
/// reaches checks the writer's generation stamp; if one refuses or cannot be reached, no DataNode
/// receives anything (a stale stamp is reported in preference to other refusals, so a fenced
/// writer always learns it was fenced). Data: the bytes flow down the pipeline in order; a
/// DataNode that fails at this point (it changed since setup) breaks the pipeline there, and the
/// DataNodes before it keep what they received.
/// </summary>
/// <param name="Pipeline">The DataNodes of the block's pipeline, in order (from the NameNode's block locations).</param>
/// <param name="BlockId">The block.</param>
/// <param name="GenerationStamp">
/// The generation stamp the writer holds. A new replica is created RBW at it; an RBW replica at it
/// is appended to; an older one is refused (the writer was fenced by a block recovery); a newer
/// one reopens a FINALIZED replica or bumps an RBW one (append, pipeline recovery).
/// </param>
/// <param name="Data">The bytes appended to each replica.</param>
/// <param name="StopAfterReplicas">When &gt; 0, only the first N DataNodes of the pipeline receive the data.</param>
/// <param name="ReplicaLengths">
/// When not empty, replica i receives the first <c>ReplicaLengths[i]</c> bytes of <paramref name="Data"/>
/// (each between 0 and Data.Length); replicas beyond the list receive all of it. No longer than the pipeline.
/// </param>
/// <param name="Finalize">Close the pipeline after the write: replicas that received it become FINALIZED.</param>
public sealed record SimulatedWrite(
    IReadOnlyList<string> Pipeline,
    long BlockId,
    long GenerationStamp,
    ReadOnlyMemory<byte> Data,
    int StopAfterReplicas = 0,
    IReadOnlyList<long>? ReplicaLengths = null,
    bool Finalize = false);

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
    /// generation stamp, TEMPORARY, or under a recovery with an older id); map it to FAILED_PRECONDITION.
    /// </summary>
    ReplicaNotWritable,

    /// <summary>A DataNode in the pipeline is stopped or did not answer in time; map it to UNAVAILABLE.</summary>
    DataNodeUnavailable,
}

/// <summary>The outcome of a <see cref="SimulatedWrite"/>.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Message">A sentence saying what happened, naming the DataNode that refused.</param>
/// <param name="Replicas">The replicas that received the data, in pipeline order, as they are after the write.</param>
/// <param name="FailedDataNodeId">The DataNode where the pipeline broke, if it did.</param>
public sealed record SimulatedWriteResult(
    SimulatedWriteStatus Status,
    string Message,
    IReadOnlyList<SimulatedReplica> Replicas,
    string? FailedDataNodeId);
