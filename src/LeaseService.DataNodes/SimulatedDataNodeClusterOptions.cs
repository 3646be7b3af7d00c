namespace LeaseService.DataNodes;

/// <summary>Settings of the embedded simulated DataNode cluster.</summary>
public sealed class SimulatedDataNodeClusterOptions
{
    /// <summary>The largest cluster the simulator accepts.</summary>
    public const int MaxDataNodeCount = 1000;

    /// <summary>
    /// How many DataNodes the cluster has; they are named "dn-1" to "dn-N".
    /// Default 3; range 1 to <see cref="MaxDataNodeCount"/>.
    /// </summary>
    public int DataNodeCount { get; set; } = 3;

    /// <summary>
    /// The bound on one call to one DataNode (initReplicaRecovery, updateReplicaUnderRecovery, a
    /// replica query, one hop of a write): HDFS's socket timeout. A DataNode that does not answer
    /// within it counts as failed for that call. Default 10 s; must be positive and at most 1 hour.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The bound on a whole recovery command sent to its primary. The primary itself makes up to
    /// two calls per location, each bounded by <see cref="CallTimeout"/>, so this must be at least
    /// <see cref="CallTimeout"/>; when the primary does not answer within it the coordinator
    /// reports <c>TimedOut</c>. Default 60 s; at most 1 hour.
    /// </summary>
    public TimeSpan RecoveryTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Where the DataNodes keep their replicas: one directory per DataNode under it
    /// (<c>dn-1/</c> …), one file per replica. Null (the default) keeps replicas in memory only,
    /// so they end with the process. With a directory, a new cluster loads what the DataNodes
    /// held, exactly as it was: in the model they are separate machines that outlive this process.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>The largest <see cref="BlockSize"/> the simulator accepts: 1 GiB.</summary>
    public const long MaxBlockSize = 1L << 30;

    /// <summary>
    /// The most bytes a block holds (HDFS's <c>dfs.blocksize</c>): a write that would take a
    /// replica past it is refused, and the writer adds a block. Default 128 MiB; 1 byte to
    /// <see cref="MaxBlockSize"/>.
    /// </summary>
    public long BlockSize { get; set; } = 128L << 20;

    /// <summary>Checks the settings together; throws <see cref="ArgumentException"/> naming every problem.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (DataNodeCount is < 1 or > MaxDataNodeCount)
        {
            errors.Add($"{nameof(DataNodeCount)} must be between 1 and {MaxDataNodeCount} (was {DataNodeCount}).");
        }

        var max = TimeSpan.FromHours(1);
        if (CallTimeout <= TimeSpan.Zero || CallTimeout > max)
        {
            errors.Add($"{nameof(CallTimeout)} must be positive and at most {max} (was {CallTimeout}).");
        }

        if (RecoveryTimeout <= TimeSpan.Zero || RecoveryTimeout > max)
        {
            errors.Add($"{nameof(RecoveryTimeout)} must be positive and at most {max} (was {RecoveryTimeout}).");
        }
        else if (RecoveryTimeout < CallTimeout)
        {
            errors.Add($"{nameof(RecoveryTimeout)} ({RecoveryTimeout}) must be at least {nameof(CallTimeout)} ({CallTimeout}).");
        }

        if (BlockSize is < 1 or > MaxBlockSize)
        {
            errors.Add($"{nameof(BlockSize)} must be between 1 and {MaxBlockSize} bytes (was {BlockSize}).");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid simulated DataNode cluster options: " + string.Join(" ", errors));
        }
    }
}
