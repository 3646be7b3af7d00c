using System.Diagnostics;

namespace LeaseService.Core.Internal;

/// <summary>
/// The lease table: one lease per holder covering its open files, and the expiry index (leases in
/// renewal order). Renewal stamps the monotonic "now" and moves the lease to the tail, so the list
/// is sorted by (last renewal, renewal sequence): the head is always the oldest lease, renew is
/// O(1) and a monitor pass O(expired). Leases past the hard limit are therefore a prefix of the
/// list: the table keeps its last lease and the files it covers, moving the boundary forward as
/// time passes (O(newly overdue)) and back as leases leave it, so the monitor's backlog is known
/// without a scan. Shares the manager's lock; every member assumes it is held.
/// Not persisted as such: a file's record names its holder, and loading rebuilds the table.
/// </summary>
internal sealed class LeaseTable(Lock gate)
{
    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private readonly IntrusiveList<Lease> _expiry = new();

    // Owner → the leases it owns, for a non-admin's ListLeases. Ownerless leases are not indexed.
    private readonly Dictionary<string, HashSet<Lease>> _byOwner = new(StringComparer.Ordinal);

    // The overdue prefix of _expiry: its last lease (null when empty) and the files its leases hold.
    private Lease? _overdueLast;
    private int _overdueFiles;

    public int Count => _leases.Count;

    /// <summary>
    /// No lease counts as renewed before this timestamp: after a failover every restored lease is
    /// renewed at (serving start + grace), and a renewal within the grace cannot move it earlier,
    /// which also keeps the expiry list sorted. <see cref="long.MinValue"/> when there is no grace.
    /// </summary>
    public long RenewedFloor { get; init; } = long.MinValue;

    /// <summary>The lease renewed longest ago, or null.</summary>
    public Lease? Oldest => _expiry.Head;

    public bool TryGet(string holder, out Lease lease)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        return _leases.TryGetValue(holder, out lease!);
    }

    /// <summary>The leases <paramref name="owner"/> owns (unordered); none when it owns nothing.</summary>
    public IReadOnlyCollection<Lease> OwnedBy(string owner)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        return _byOwner.TryGetValue(owner, out var leases) ? leases : [];
    }

    /// <summary>
    /// Adds the file to the holder's lease, creating or renewing it (HDFS addLease). A new lease
    /// belongs to <paramref name="owner"/>; an existing one keeps its owner.
    /// </summary>
    public Lease Attach(FileEntry file, string holder, long now, string? owner)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        if (!_leases.TryGetValue(holder, out var lease))
        {
            lease = new Lease(holder, owner);
            _leases.Add(holder, lease);
            if (owner is not null)
            {
                if (!_byOwner.TryGetValue(owner, out var owned))
                {
                    _byOwner.Add(owner, owned = []);
                }

                owned.Add(lease);
            }

            lease.LastRenewed = Math.Max(now, RenewedFloor);
            _expiry.AddLast(lease);
        }
        else
        {
            Renew(lease, now);
        }

        lease.Files.Add(file);
        file.Lease = lease;
        return lease;
    }

    /// <summary>Removes the file from its lease; a lease with no files left is deleted.</summary>
    public void Detach(FileEntry file)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        var lease = file.Lease!;
        lease.Files.Remove(file);
        file.Lease = null;
        if (lease.Overdue)
        {
            _overdueFiles--;
        }

        if (lease.Files.Count == 0)
        {
            LeaveOverdue(lease);
            _leases.Remove(lease.Holder);
            _expiry.Remove(lease);
            if (lease.Principal is not null && _byOwner.TryGetValue(lease.Principal, out var owned))
            {
                owned.Remove(lease);
                if (owned.Count == 0)
                {
                    _byOwner.Remove(lease.Principal);
                }
            }
        }
    }

    public void Renew(Lease lease, long now)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        now = Math.Max(now, RenewedFloor);
        Debug.Assert(_expiry.Tail is null || _expiry.Tail.LastRenewed <= now, "The monotonic clock went backwards.");
        if (lease.Overdue)
        {
            _overdueFiles -= lease.Files.Count;
            LeaveOverdue(lease);
        }

        lease.LastRenewed = now;
        _expiry.MoveToLast(lease);
    }

    /// <summary>
    /// Files whose lease was last renewed before <paramref name="cutoff"/> (now − hard limit: past
    /// the hard limit, awaiting the monitor). <paramref name="cutoff"/> never decreases between
    /// calls (it follows a monotonic clock). Amortized O(1): each lease enters the prefix once per
    /// renewal.
    /// </summary>
    public int CountOverdueFiles(long cutoff)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        var next = _overdueLast is null ? _expiry.Head : _overdueLast.Next;
        while (next is not null && next.LastRenewed < cutoff)
        {
            next.Overdue = true;
            _overdueFiles += next.Files.Count;
            _overdueLast = next;
            next = next.Next;
        }

        return _overdueFiles;
    }

    /// <summary>Takes a lease that is about to move or leave out of the overdue prefix (its files already uncounted).</summary>
    private void LeaveOverdue(Lease lease)
    {
        if (!lease.Overdue)
        {
            return;
        }

        lease.Overdue = false;
        if (ReferenceEquals(_overdueLast, lease))
        {
            _overdueLast = lease.Previous;
        }
    }
}
