namespace LeaseService.Client.Renewal.Internal;

/// <summary>What a holder needs now, as a pure function of its entry and the time.</summary>
internal readonly record struct HolderDecision(LeaseHolderState State, bool RenewNow, long NextWakeAt);

/// <summary>
/// One holder's renewal state. Mutated only by <see cref="HolderTable"/> (under the renewer's lock);
/// <see cref="Evaluate"/> reads it and the time and decides, without side effects.
/// </summary>
internal sealed class HolderEntry(string name, TimeSpan softLimit, TimeSpan hardLimit, long lastSend)
{
    public string Name { get; } = name;

    public List<LeaseRegistration> Registrations { get; } = [];

    /// <summary>
    /// Paths the server may still count under the holder that are not registered here: abandoned
    /// by the application (aborted, or disposed without a close seen to succeed), or listed under
    /// the holder by the server. Every renewal renews them too, so a renewal should count them;
    /// dropped once the holder's list no longer shows them.
    /// </summary>
    public HashSet<string> Unregistered { get; } = new(StringComparer.Ordinal);

    /// <summary>Send time of the last successful renewal + soft limit − drift; MinValue before one.</summary>
    public long RenewalBound { get; set; } = long.MinValue;

    /// <summary>Send time of the first grant or last successful renewal: the hard limit counts from here.</summary>
    public long LastSend { get; set; } = lastSend;

    public TimeSpan SoftLimit { get; set; } = softLimit;

    public TimeSpan HardLimit { get; set; } = hardLimit;

    public long NextAttemptAt { get; set; }

    public bool LastAttemptFailed { get; set; }

    public int ConsecutiveFailures { get; set; }

    public Exception? LastError { get; set; }

    /// <summary>The state last reported to subscribers.</summary>
    public LeaseHolderState State { get; set; } = LeaseHolderState.Held;

    /// <summary>The earliest bound of the paths still held; when none is, the latest bound known.</summary>
    public long ValidUntil
    {
        get
        {
            var min = long.MaxValue;
            var max = RenewalBound;
            foreach (var registration in Registrations)
            {
                var bound = registration.ValidUntilTimestamp;
                max = Math.Max(max, bound);
                if (!registration.Token.IsCancellationRequested)
                {
                    min = Math.Min(min, bound);
                }
            }

            return min != long.MaxValue ? min : max;
        }
    }

    /// <summary>
    /// Half the soft limit, or half the smallest RPC timeout of a registration, capped by the option.
    /// When the drift margin eats half the soft limit or more, half of what is left, so a renewal
    /// still lands before the bound.
    /// </summary>
    public TimeSpan Period(RenewalPolicy policy)
    {
        var period = SoftLimit / 2;
        var usable = SoftLimit - policy.Mono.ToTimeSpan(policy.DriftTicks);
        if (usable <= period)
        {
            period = usable / 2;
        }

        foreach (var registration in Registrations)
        {
            if (registration.RpcTimeout is { } timeout && timeout > TimeSpan.Zero && timeout / 2 < period)
            {
                period = timeout / 2;
            }
        }

        if (policy.MaxPeriod is { } max && max < period)
        {
            period = max;
        }

        return period > TimeSpan.Zero ? period : TimeSpan.FromMilliseconds(100);
    }

    public HolderDecision Evaluate(long now, RenewalPolicy policy)
    {
        var lostAt = LastSend + policy.Mono.ToTicks(HardLimit);
        if (now >= lostAt)
        {
            return new HolderDecision(LeaseHolderState.Lost, false, long.MaxValue);
        }

        var validUntil = ValidUntil;
        var window = policy.Mono.ToTicks(policy.JeopardyWindow ?? SoftLimit / 4);
        var jeopardyAt = LastAttemptFailed ? validUntil - window : validUntil;
        var state = now >= jeopardyAt ? LeaseHolderState.Jeopardy : LeaseHolderState.Held;

        var next = Math.Min(NextAttemptAt, lostAt);
        if (jeopardyAt > now)
        {
            next = Math.Min(next, jeopardyAt);
        }

        if (validUntil > now)
        {
            next = Math.Min(next, validUntil);
        }

        return new HolderDecision(state, now >= NextAttemptAt, next);
    }
}
