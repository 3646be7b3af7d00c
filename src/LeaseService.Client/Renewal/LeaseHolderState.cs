namespace LeaseService.Client.Renewal;

/// <summary>What the renewer knows about one holder's lease.</summary>
public enum LeaseHolderState
{
    /// <summary>Renewed in time: the holder's paths are held until <see cref="LeaseHolderStatus.ValidUntil"/>.</summary>
    Held,

    /// <summary>
    /// Renewals are failing and the validity bound is near or has passed: the lease is in doubt.
    /// Paths whose bound has passed are already aborted (their tokens tripped); a successful
    /// renewal before <see cref="Lost"/> returns the holder to <see cref="Held"/>.
    /// </summary>
    Jeopardy,

    /// <summary>
    /// The server no longer knows the holder (NOT_FOUND), or no renewal succeeded for the hard limit.
    /// Every open path of the holder was aborted. Final for those paths.
    /// </summary>
    Lost,
}

/// <summary>Why a registration's <see cref="LeaseRegistration.Token"/> tripped.</summary>
public enum LeaseAbortReason
{
    /// <summary>Still held.</summary>
    None,

    /// <summary>The validity bound passed before a renewal succeeded: someone may take the lease over soon.</summary>
    ValidityExpired,

    /// <summary>The server answered NOT_FOUND to the holder's renewal: its leases are gone (recovered or taken over).</summary>
    HolderNotFound,

    /// <summary>No renewal succeeded for the hard limit: the server recovers the lease on its own.</summary>
    HardLimitExceeded,

    /// <summary>The server renewed fewer paths than are open here, and this path is no longer held by the holder (e.g. force-recovered).</summary>
    Revoked,

    /// <summary>A write or block allocation was refused as fenced (ABORTED: stale epoch or generation stamp).</summary>
    Fenced,

    /// <summary>The application closed or aborted the path.</summary>
    Unregistered,

    /// <summary>The renewer was disposed: nothing renews the lease any more.</summary>
    RenewerDisposed,
}

/// <summary>A snapshot of one holder as the renewer sees it.</summary>
/// <param name="Holder">The lease holder (client name).</param>
/// <param name="State">Held, in jeopardy or lost.</param>
/// <param name="ValidUntilTimestamp">The validity bound as a <see cref="TimeProvider.GetTimestamp"/> value of the renewer's clock.</param>
/// <param name="Remaining">Time left until the bound (zero when passed).</param>
/// <param name="ValidUntil">The bound in wall-clock time, for people; decisions use the monotonic value.</param>
/// <param name="OpenPaths">Registered paths.</param>
/// <param name="ConsecutiveFailures">Renewal attempts failed since the last success.</param>
/// <param name="LastError">The last renewal failure, if the last attempt failed.</param>
public sealed record LeaseHolderStatus(
    string Holder,
    LeaseHolderState State,
    long ValidUntilTimestamp,
    TimeSpan Remaining,
    DateTimeOffset ValidUntil,
    int OpenPaths,
    int ConsecutiveFailures,
    Exception? LastError)
{
    /// <summary>True while the lease counts as held: not lost and the bound not yet passed.</summary>
    public bool IsHeld => State != LeaseHolderState.Lost && Remaining > TimeSpan.Zero;
}

/// <summary>A holder's state changed, or some of its paths were aborted.</summary>
/// <param name="Holder">The lease holder.</param>
/// <param name="Previous">State before.</param>
/// <param name="Current">State now.</param>
/// <param name="Reason">Why paths were aborted, if any were.</param>
/// <param name="AbortedPaths">Paths aborted with this change (all of the holder's on <see cref="LeaseHolderState.Lost"/>).</param>
/// <param name="At">Wall-clock time of the change, for people.</param>
/// <param name="Error">The renewal failure behind the change, if any.</param>
public sealed record LeaseStateChange(
    string Holder,
    LeaseHolderState Previous,
    LeaseHolderState Current,
    LeaseAbortReason Reason,
    IReadOnlyList<string> AbortedPaths,
    DateTimeOffset At,
    Exception? Error);
