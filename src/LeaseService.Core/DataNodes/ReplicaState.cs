namespace LeaseService.Core.DataNodes;

/// <summary>
/// A replica's state on its DataNode. The numeric value orders "goodness": lower is better.
/// </summary>
public enum ReplicaState
{
    /// <summary>Complete and immutable at its generation stamp.</summary>
    Finalized = 0,

    /// <summary>Replica being written: in a live write pipeline.</summary>
    Rbw = 1,

    /// <summary>Replica waiting to be recovered: an RBW replica after its DataNode restarted.</summary>
    Rwr = 2,

    /// <summary>Replica under recovery, owned by a recovery id.</summary>
    Rur = 3,

    /// <summary>Replication or relocation copy; never takes part in recovery.</summary>
    Temporary = 4,
}
