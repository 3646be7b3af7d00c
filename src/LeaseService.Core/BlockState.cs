namespace LeaseService.Core;

/// <summary>A block's state on the NameNode (HDFS BlockUCState).</summary>
public enum BlockState
{
    /// <summary>Being written through its pipeline.</summary>
    UnderConstruction,

    /// <summary>Block recovery is running with a recovery id.</summary>
    UnderRecovery,

    /// <summary>The writer closed it but too few FINALIZED replicas have been seen.</summary>
    Committed,

    /// <summary>Enough FINALIZED replicas at the block's generation stamp.</summary>
    Complete,
}
