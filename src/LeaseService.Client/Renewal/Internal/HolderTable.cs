namespace LeaseService.Client.Renewal.Internal;

/// <summary>
/// Every holder with open paths, and the pure transitions between their states. Each method takes
/// the current time as an argument and returns what the caller must do (abort, broadcast, re-arm,
/// renew, wake at); it reads no clock, arms no timer, calls no server, logs nothing and takes no
/// lock. The renewer calls it under its lock and carries out the effects after releasing it.
/// </summary>
internal sealed class HolderTable(RenewalPolicy policy)
{
    private readonly Dictionary<string, HolderEntry> _holders = new(StringComparer.Ordinal);

    public RenewalPolicy Policy { get; } = policy;

    /// <summary>Sequence number of the last registration: a renewal covers the paths registered before it was sent.</summary>
    public long RegistrationSequence { get; private set; }

    /// <summary>When the table last became empty; null while a holder has paths.</summary>
    public long? EmptySince { get; private set; }

    public int Count => _holders.Count;

    public bool TryGet(string holder, out HolderEntry entry) => _holders.TryGetValue(holder, out entry!);

    /// <summary>
    /// Adds a path whose AddLease was sent at <paramref name="sent"/>. <paramref name="create"/>
    /// builds the registration from its sequence number and its first bound.
    /// </summary>
    /// <exception cref="DuplicateRegistrationException">The holder already has this path, not aborted.</exception>
    public LeaseRegistration Add(string holder, string path, long sent, TimeSpan softLimit, TimeSpan hardLimit, Func<long, long, LeaseRegistration> create)
    {
        if (!_holders.TryGetValue(holder, out var entry))
        {
            entry = new HolderEntry(holder, softLimit, hardLimit, sent);
            _holders.Add(holder, entry);
        }
        else if (entry.Registrations.FindIndex(r => r.Path == path) is var existing and >= 0)
        {
            if (!entry.Registrations[existing].Token.IsCancellationRequested)
            {
                throw new DuplicateRegistrationException($"'{holder}' already has '{path}' registered.");
            }

            // Aborted (its validity bound passed) but not yet unregistered: its writer can no longer
            // write, and the path is open again (the README's "open the path again").
            entry.Registrations.RemoveAt(existing);
        }

        entry.Unregistered.Remove(path);
        var grantBound = sent + Policy.Mono.ToTicks(softLimit) - Policy.DriftTicks;
        var registration = create(++RegistrationSequence, grantBound);
        entry.Registrations.Add(registration);
        if (entry.Registrations.Count == 1 && entry.RenewalBound == long.MinValue)
        {
            entry.NextAttemptAt = sent + Policy.Mono.ToTicks(entry.Period(Policy));
        }
        else
        {
            entry.NextAttemptAt = Math.Min(entry.NextAttemptAt, entry.LastSend + Policy.Mono.ToTicks(entry.Period(Policy)));
        }

        EmptySince = null;
        return registration;
    }

    /// <summary>
    /// Removes a path; true if it was here. The last path of a holder takes the holder with it (and
    /// renewals of it stop). <paramref name="mayStillBeHeld"/>: the application abandoned the path
    /// rather than closed it, so the server still counts it under the holder, which the holder's
    /// other paths keep renewing.
    /// </summary>
    public bool Remove(LeaseRegistration registration, long now, bool mayStillBeHeld = false)
    {
        if (!_holders.TryGetValue(registration.Holder, out var entry) || !entry.Registrations.Remove(registration))
        {
            return false;
        }

        if (entry.Registrations.Count == 0)
        {
            _holders.Remove(registration.Holder);
        }
        else if (mayStillBeHeld)
        {
            entry.Unregistered.Add(registration.Path);
        }

        if (_holders.Count == 0)
        {
            EmptySince = now;
        }

        return true;
    }

    /// <summary>True when another registration of the same holder and path has taken <paramref name="registration"/>'s place.</summary>
    public bool IsSuperseded(LeaseRegistration registration)
        => _holders.TryGetValue(registration.Holder, out var entry)
            && entry.Registrations.Exists(r => r.Path == registration.Path && !ReferenceEquals(r, registration));

    /// <summary>True when <paramref name="path"/> of <paramref name="holder"/> is here and not yet aborted.</summary>
    public bool Contains(string holder, string path)
        => _holders.TryGetValue(holder, out var entry) && entry.Registrations.Exists(r => r.Path == path && !r.Token.IsCancellationRequested);

    /// <summary>Empties the table (the renewer is disposed); returns every registration it held.</summary>
    public List<LeaseRegistration> Clear()
    {
        var registrations = _holders.Values.SelectMany(e => e.Registrations).ToList();
        _holders.Clear();
        return registrations;
    }

    /// <summary>A holder's status at <paramref name="now"/>; null when it has no open path.</summary>
    public LeaseHolderStatus? Status(string holder, long now, DateTimeOffset utcNow)
        => _holders.TryGetValue(holder, out var entry) ? Snapshot(entry, now, utcNow) : null;

    /// <summary>Every holder's status at <paramref name="now"/>, by name.</summary>
    public LeaseHolderStatus[] Statuses(long now, DateTimeOffset utcNow)
        => _holders.Values.OrderBy(e => e.Name, StringComparer.Ordinal).Select(e => Snapshot(e, now, utcNow)).ToArray();

    /// <summary>
    /// One look at every holder at <paramref name="now"/>: records state changes (HELD ⇄ JEOPARDY),
    /// removes holders past the hard limit (LOST, their paths aborted), lists who is due for a
    /// renewal and when to look next. With no holder for the grace period (and
    /// <paramref name="mayExit"/>), says the loop may stop.
    /// </summary>
    public EvaluationPass Evaluate(long now, bool mayExit)
    {
        var effects = new TableEffects();
        var due = new List<string>();
        var next = long.MaxValue;
        var exit = false;
        List<HolderEntry>? lost = null;
        foreach (var entry in _holders.Values)
        {
            var decision = entry.Evaluate(now, Policy);
            if (decision.State == LeaseHolderState.Lost)
            {
                (lost ??= []).Add(entry);
                continue;
            }

            if (decision.State != entry.State)
            {
                effects.Transitions.Add(new HolderTransition(entry.Name, entry.State, decision.State, LeaseAbortReason.None, [], entry.LastAttemptFailed ? entry.LastError : null));
                entry.State = decision.State;
            }

            if (decision.RenewNow)
            {
                due.Add(entry.Name);
            }

            next = Math.Min(next, decision.NextWakeAt);
        }

        foreach (var entry in lost ?? [])
        {
            _holders.Remove(entry.Name);
            effects.Transitions.Add(new HolderTransition(entry.Name, entry.State, LeaseHolderState.Lost, LeaseAbortReason.HardLimitExceeded, entry.Registrations.Select(r => r.Path).ToArray(), entry.LastError));
            effects.Aborts.AddRange(entry.Registrations.Select(r => (r, LeaseAbortReason.HardLimitExceeded)));
        }

        if (_holders.Count == 0 && mayExit)
        {
            EmptySince ??= now;
            var stopAt = EmptySince.Value + Policy.GraceTicks;
            if (now >= stopAt)
            {
                exit = true;
            }

            next = Math.Min(next, stopAt);
        }

        due.Sort(StringComparer.Ordinal);
        return new EvaluationPass(due, next, exit, effects);
    }

    /// <summary>
    /// A renewal of <paramref name="entry"/> sent at <paramref name="sent"/> (when the table's
    /// sequence was <paramref name="sequence"/>) succeeded: the bound moves to send time + soft
    /// limit − drift for the paths registered before it, failures reset, the next attempt is a
    /// period after the send.
    /// </summary>
    public RenewedOutcome Renewed(HolderEntry entry, long sequence, long sent, RenewResult result)
    {
        if (!IsCurrent(entry))
        {
            return new RenewedOutcome(false, TimeSpan.Zero, [], 0, 0, 0, 0);
        }

        if (result.SoftLimit > TimeSpan.Zero && result.HardLimit >= result.SoftLimit)
        {
            entry.SoftLimit = result.SoftLimit;
            entry.HardLimit = result.HardLimit;
        }

        var bound = sent + Policy.Mono.ToTicks(entry.SoftLimit) - Policy.DriftTicks;
        entry.RenewalBound = Math.Max(entry.RenewalBound, bound);
        entry.LastSend = Math.Max(entry.LastSend, sent);
        entry.LastAttemptFailed = false;
        entry.ConsecutiveFailures = 0;
        entry.LastError = null;
        var period = entry.Period(Policy);
        entry.NextAttemptAt = sent + Policy.Mono.ToTicks(period);
        var (expected, closing) = (0, 0);
        foreach (var registration in entry.Registrations)
        {
            // Only a renewal sent after the path was registered (so after its AddLease answered) covers it.
            if (registration.Sequence > sequence)
            {
                continue;
            }

            if (registration.Closing)
            {
                closing++;
            }
            else
            {
                expected++;
            }
        }

        // Fewer renewed than open here (and abandoned here, which the server renews as well): some
        // path was taken, and which one only the holder's list can tell, so the open paths keep
        // their bounds until it has (Confirmed). A path being closed moves now: it is the closer's
        // to finish, and never counted as taken.
        var unregistered = entry.Unregistered.Count;
        var certain = result.LeasesRenewed >= expected + closing + unregistered;
        var toArm = new List<LeaseRegistration>();
        foreach (var registration in entry.Registrations)
        {
            if (registration.Sequence <= sequence && (certain || registration.Closing))
            {
                registration.ExtendBound(bound);
                toArm.Add(registration);
            }
        }

        return new RenewedOutcome(true, period, toArm, expected, closing, unregistered, bound);
    }

    /// <summary>
    /// A renewal of <paramref name="entry"/> failed at <paramref name="now"/> (UNAVAILABLE, transport
    /// error, timeout): the next attempt is <paramref name="retryDelay"/> later (asked only when the
    /// holder is still here, so jitter is drawn once per recorded failure).
    /// </summary>
    public FailedOutcome Failed(HolderEntry entry, Exception error, long now, Func<TimeSpan> retryDelay)
    {
        if (!IsCurrent(entry))
        {
            return new FailedOutcome(false, 0, TimeSpan.Zero);
        }

        entry.LastAttemptFailed = true;
        entry.LastError = error;
        var failures = ++entry.ConsecutiveFailures;
        entry.NextAttemptAt = now + Policy.Mono.ToTicks(retryDelay());
        return new FailedOutcome(true, failures, Policy.Mono.ToTimeSpan(entry.ValidUntil - now));
    }

    /// <summary>
    /// A renewal sent at <paramref name="sequence"/> got NOT_FOUND: the holder is LOST for the paths
    /// that renewal covered (registered before it and not closing), which are aborted. Paths
    /// registered since go on under a fresh entry, renewed at once. When no path was covered, the
    /// renewal is retried after the retry interval.
    /// </summary>
    public TableEffects NotFound(HolderEntry entry, long sequence, Exception error, long now)
    {
        var effects = new TableEffects();
        if (!IsCurrent(entry))
        {
            return effects;
        }

        // Paths registered after the renewal was sent, or being closed, may rightly be unknown to it.
        var victims = entry.Registrations.Where(r => r.Sequence <= sequence && !r.Closing).ToList();
        if (victims.Count == 0)
        {
            entry.NextAttemptAt = now + Policy.Mono.ToTicks(Policy.RetryInterval);
            return effects;
        }

        _holders.Remove(entry.Name);
        var survivors = entry.Registrations.Except(victims).ToList();
        if (survivors.Count > 0)
        {
            // A fresh holder entry for the paths opened since: their own grants count.
            var fresh = new HolderEntry(entry.Name, entry.SoftLimit, entry.HardLimit, now);
            fresh.Registrations.AddRange(survivors);
            fresh.NextAttemptAt = now;
            _holders.Add(entry.Name, fresh);
        }
        else if (_holders.Count == 0)
        {
            EmptySince = now;
        }

        effects.Transitions.Add(new HolderTransition(entry.Name, entry.State, LeaseHolderState.Lost, LeaseAbortReason.HolderNotFound, victims.Select(r => r.Path).ToArray(), error));
        effects.Aborts.AddRange(victims.Select(r => (r, LeaseAbortReason.HolderNotFound)));
        return effects;
    }

    /// <summary>
    /// The holder's list came after a renewal that counted fewer paths than were open here: the
    /// paths it covered that are still here (the ones taken are gone, see <see cref="Revoked"/>)
    /// get that renewal's <paramref name="bound"/>. Returns them to re-arm outside the lock.
    /// </summary>
    public List<LeaseRegistration> Confirmed(HolderEntry entry, long sequence, long bound)
    {
        var toArm = new List<LeaseRegistration>();
        if (!IsCurrent(entry))
        {
            return toArm;
        }

        foreach (var registration in entry.Registrations)
        {
            if (registration.Sequence <= sequence && !registration.Closing)
            {
                registration.ExtendBound(bound);
                toArm.Add(registration);
            }
        }

        return toArm;
    }

    /// <summary>
    /// The server renewed fewer paths than expected and lists <paramref name="held"/> under the
    /// holder: the covered paths missing from it are revoked (removed and aborted); the holder's
    /// state does not change. The paths it lists that are not registered here are what the server
    /// counts besides them from now on.
    /// </summary>
    public TableEffects Revoked(HolderEntry entry, long sequence, IReadOnlySet<string> held, long now)
    {
        var effects = new TableEffects();
        if (!IsCurrent(entry))
        {
            return effects;
        }

        entry.Unregistered.Clear();
        foreach (var path in held)
        {
            if (!entry.Registrations.Exists(r => r.Path == path))
            {
                entry.Unregistered.Add(path);
            }
        }

        var victims = entry.Registrations.Where(r => r.Sequence <= sequence && !r.Closing && !held.Contains(r.Path)).ToList();
        if (victims.Count == 0)
        {
            return effects;
        }

        foreach (var victim in victims)
        {
            entry.Registrations.Remove(victim);
        }

        if (entry.Registrations.Count == 0)
        {
            _holders.Remove(entry.Name);
            if (_holders.Count == 0)
            {
                EmptySince = now;
            }
        }

        effects.Transitions.Add(new HolderTransition(entry.Name, entry.State, entry.State, LeaseAbortReason.Revoked, victims.Select(r => r.Path).ToArray(), null));
        effects.Aborts.AddRange(victims.Select(r => (r, LeaseAbortReason.Revoked)));
        return effects;
    }

    /// <summary>False when the entry was removed or replaced (lost, unregistered) while a call about it was in flight.</summary>
    private bool IsCurrent(HolderEntry entry) => _holders.TryGetValue(entry.Name, out var current) && current == entry;

    private LeaseHolderStatus Snapshot(HolderEntry entry, long now, DateTimeOffset utcNow)
    {
        var validUntil = entry.ValidUntil;
        var remaining = Policy.Mono.ToTimeSpan(validUntil - now);
        var state = entry.Evaluate(now, Policy).State;
        return new LeaseHolderStatus(
            entry.Name,
            state,
            validUntil,
            remaining,
            utcNow + remaining,
            entry.Registrations.Count,
            entry.ConsecutiveFailures,
            entry.LastAttemptFailed ? entry.LastError : null);
    }
}
