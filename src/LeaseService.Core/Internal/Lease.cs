namespace LeaseService.Core.Internal;

/// <summary>
/// One lease per holder, covering every file the holder has open. Its place in the expiry index
/// is its renewal order; <see cref="LastRenewed"/> is a monotonic timestamp, never persisted.
/// </summary>
internal sealed class Lease(string holder, string? owner) : IntrusiveNode<Lease>
{
    public string Holder { get; } = holder;

    /// <summary>
    /// The principal that first took a lease with this holder name, for as long as the holder
    /// holds anything; null when it was taken without authentication (or before owners were
    /// recorded). Persisted in each of the holder's file records.
    /// </summary>
    public string? Principal { get; } = owner;

    public long LastRenewed { get; set; }

    /// <summary>
    /// The commit that first persisted a file of this lease, with <see cref="Principal"/> in its
    /// record: the owner is durable once that commit is. 0 until then (a lease loaded from the
    /// store is durable already; the first commit after the load that touches one of its files
    /// sets it, which only makes a refusal wait for that commit).
    /// </summary>
    public long FirstCommit { get; set; }

    /// <summary>In the lease table's overdue prefix (past the hard limit, counted in its backlog).</summary>
    public bool Overdue { get; set; }

    /// <summary>The holder's open files in path order.</summary>
    public OpenFileIndex Files { get; } = new(perHolder: true);
}
