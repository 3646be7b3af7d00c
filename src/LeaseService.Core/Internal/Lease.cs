namespace LeaseService.Core.Internal;

/// <summary>
/// One lease per holder, covering every file the holder has open. Its place in the expiry index
/// is its renewal order; <see cref="LastRenewed"/> is a monotonic timestamp, never persisted.
/// </summary>
internal sealed class Lease(string holder) : IntrusiveNode<Lease>
{
    public string Holder { get; } = holder;

    public long LastRenewed { get; set; }

    /// <summary>The holder's open files in path order.</summary>
    public OpenFileIndex Files { get; } = new(perHolder: true);
}
