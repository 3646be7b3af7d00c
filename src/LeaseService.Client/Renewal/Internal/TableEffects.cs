namespace LeaseService.Client.Renewal.Internal;

/// <summary>A holder's state changed, or some of its paths were aborted (a <see cref="LeaseStateChange"/> before it is time-stamped).</summary>
internal sealed record HolderTransition(
    string Holder,
    LeaseHolderState Previous,
    LeaseHolderState Current,
    LeaseAbortReason Reason,
    IReadOnlyList<string> AbortedPaths,
    Exception? Error);

/// <summary>
/// What a transition of the <see cref="HolderTable"/> asks the caller to do once the lock is
/// released: abort these registrations (first: writers stop), then broadcast these transitions.
/// </summary>
internal sealed class TableEffects
{
    public List<HolderTransition> Transitions { get; } = [];

    public List<(LeaseRegistration Registration, LeaseAbortReason Reason)> Aborts { get; } = [];

    public bool IsEmpty => Transitions.Count == 0 && Aborts.Count == 0;
}

/// <summary>The result of evaluating every holder at one instant.</summary>
/// <param name="Due">Holders to renew now, in ordinal order.</param>
/// <param name="NextWake">When the loop must look again (timestamp).</param>
/// <param name="Exit">No holder for the grace period: the loop stops.</param>
/// <param name="Effects">State changes and losses found.</param>
internal sealed record EvaluationPass(IReadOnlyList<string> Due, long NextWake, bool Exit, TableEffects Effects);

/// <summary>What the table recorded for a successful renewal.</summary>
/// <param name="Applied">False when the holder was removed or replaced while the call was in flight (nothing changed).</param>
/// <param name="Period">The holder's renewal period now.</param>
/// <param name="ToArm">Registrations whose bound moved: re-arm their timers outside the lock.</param>
/// <param name="Expected">Paths the renewal should have covered (registered before it was sent and not closing).</param>
/// <param name="Closing">Covered paths being closed: the server counts each until its close succeeds, so it may or may not.</param>
/// <param name="Unregistered">Paths not registered here that the server counts under the holder (abandoned by the application, or listed).</param>
/// <param name="Bound">The bound the renewal earned; the open paths get it only once the list confirms them when fewer were renewed than open.</param>
internal readonly record struct RenewedOutcome(bool Applied, TimeSpan Period, IReadOnlyList<LeaseRegistration> ToArm, int Expected, int Closing, int Unregistered, long Bound);

/// <summary>What the table recorded for a failed renewal.</summary>
/// <param name="Applied">False when the holder was removed or replaced while the call was in flight.</param>
/// <param name="Failures">Consecutive failures including this one.</param>
/// <param name="Remaining">Validity left at the failure.</param>
internal readonly record struct FailedOutcome(bool Applied, int Failures, TimeSpan Remaining);
