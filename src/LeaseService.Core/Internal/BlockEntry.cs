namespace LeaseService.Core.Internal;

/// <summary>A block of a file as the NameNode knows it.</summary>
internal sealed class BlockEntry(long id, long generationStamp, string[] locations, FileEntry file)
{
    public long Id { get; } = id;

    public long GenerationStamp { get; set; } = generationStamp;

    /// <summary>Bytes the NameNode vouches for: set on commit, complete or recovery.</summary>
    public long NumBytes { get; set; }

    public BlockState State { get; set; } = BlockState.UnderConstruction;

    /// <summary>The write pipeline, or after recovery the replicas that survived it.</summary>
    public string[] Locations { get; set; } = locations;

    public FileEntry File { get; } = file;

    /// <summary>The current recovery id while <see cref="State"/> is UnderRecovery.</summary>
    public long RecoveryId { get; set; }
}
