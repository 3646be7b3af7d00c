using System.Runtime.CompilerServices;
using System.Threading.Channels;
using LeaseService.Client.Renewal.Internal;
using LeaseService.Contracts.V1;
using Microsoft.Extensions.Logging;

namespace LeaseService.Client.Renewal;

/// <summary>
/// Keeps alive the leases of every holder of one user on one server, for all the clients of that
/// user in the process (get it from <see cref="LeaseRenewerFactory"/>). Paths are registered when
/// opened and disposed when closed; a background task runs only while paths are open (plus a grace
/// period) and renews each distinct holder with one RenewLease per round, one call at a time.
/// </summary>
/// <remarks>
/// <para>A lease counts as held only until (monotonic time the renewal was <em>sent</em>) + soft
/// limit − drift margin: a slow reply never extends it. Each registration's
/// <see cref="LeaseRegistration.Token"/> trips at that bound, before the server can let anyone
/// take the lease over.</para>
/// <para>States per holder: <see cref="LeaseHolderState.Held"/> → <see cref="LeaseHolderState.Jeopardy"/>
/// (renewals failing and the bound near or passed) → <see cref="LeaseHolderState.Lost"/> (NOT_FOUND,
/// or no successful renewal for the hard limit), or back to Held when a renewal succeeds in time.
/// On Lost every open path of the holder is aborted; other holders are unaffected.</para>
/// <para>Failed renewals (UNAVAILABLE, transport errors, timeouts) are retried about every
/// <see cref="LeaseRenewerOptions.RetryInterval"/> with jitter. Unlike HDFS, a timeout does not
/// abort every stream at once: the validity bound already stops writers in time.</para>
/// </remarks>
public sealed class LeaseRenewer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HolderEntry> _holders = new(StringComparer.Ordinal);
    private readonly List<Channel<LeaseStateChange>> _watchers = [];
    private readonly IRenewalTransport _transport;
    private readonly LeaseRenewerOptions _options;
    private readonly RenewalPolicy _policy;
    private readonly ILogger _logger;
    private readonly Random _random;
    private readonly ITimer _wakeTimer;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Action<LeaseRenewer>? _onDisposed;
    private TaskCompletionSource _wake = NewSignal();
    private TaskCompletionSource _parked = NewSignal();
    private TaskCompletionSource _roundCompleted = NewSignal();
    private Task? _loop;
    private long? _emptySince;
    private long _registrationSequence;
    private bool _isParked;
    private bool _disposed;

    internal LeaseRenewer(Uri server, string user, IRenewalTransport transport, LeaseRenewerOptions options, Action<LeaseRenewer>? onDisposed = null)
    {
        options.Validate();
        Server = server;
        User = user;
        Name = $"LeaseRenewer:{user}@{server.GetLeftPart(UriPartial.Authority)}";
        _transport = transport;
        _options = options;
        _onDisposed = onDisposed;
        TimeProvider = options.TimeProvider;
        Mono = new MonotonicTime(TimeProvider);
        _policy = new RenewalPolicy(Mono, Mono.ToTicks(options.DriftMargin), options.MaxRenewalPeriod, options.JeopardyWindow);
        _logger = options.LoggerFactory.CreateLogger<LeaseRenewer>();
        _random = options.Random ?? Random.Shared;
        _wakeTimer = TimeProvider.CreateTimer(static s => ((LeaseRenewer)s!).Signal(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The server whose leases this renewer renews.</summary>
    public Uri Server { get; }

    /// <summary>The user this renewer serves.</summary>
    public string User { get; }

    /// <summary>A name for logs, e.g. <c>LeaseRenewer:alice@http://nn1:5050</c>.</summary>
    public string Name { get; }

    /// <summary>The clock of every bound and timestamp this renewer reports.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>True while the background task runs (paths open, or within the grace period after the last closed).</summary>
    public bool IsRunning
    {
        get
        {
            lock (_lock)
            {
                return _loop is not null;
            }
        }
    }

    internal MonotonicTime Mono { get; }

    /// <summary>The loop's task, for tests: completes when the background task stops.</summary>
    internal Task? LoopTask
    {
        get
        {
            lock (_lock)
            {
                return _loop;
            }
        }
    }

    /// <summary>Now, on the renewer's monotonic clock: take it just before sending AddLease and pass it to <see cref="Register(LeaseInfo, long, TimeSpan?)"/>.</summary>
    public long GetTimestamp() => Mono.Now;

    /// <summary>
    /// Registers a path just opened with AddLease. <paramref name="requestSentTimestamp"/> is
    /// <see cref="GetTimestamp"/> taken before the AddLease was sent: the grant counts from then.
    /// <paramref name="rpcTimeout"/>, when given, caps the renewal period at half of it (as HDFS does
    /// for a client's timeout).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The renewer was disposed.</exception>
    /// <exception cref="InvalidOperationException">The holder already has this path registered.</exception>
    public LeaseRegistration Register(LeaseInfo lease, long requestSentTimestamp, TimeSpan? rpcTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var soft = lease.SoftLimitRemaining?.ToTimeSpan() ?? TimeSpan.Zero;
        var hard = lease.HardLimitRemaining?.ToTimeSpan() ?? TimeSpan.Zero;
        return Register(lease.Holder, lease.Path, lease.Epoch, requestSentTimestamp, soft, hard, rpcTimeout);
    }

    /// <summary>Registers a path whose lease was granted with the given limits; see <see cref="Register(LeaseInfo, long, TimeSpan?)"/>.</summary>
    public LeaseRegistration Register(string holder, string path, ulong epoch, long requestSentTimestamp, TimeSpan softLimit, TimeSpan hardLimit, TimeSpan? rpcTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (softLimit <= TimeSpan.Zero || hardLimit < softLimit)
        {
            throw new ArgumentException($"The lease limits must be positive with soft ≤ hard (soft {softLimit}, hard {hardLimit}).", nameof(softLimit));
        }

        if (_options.DriftMargin >= softLimit)
        {
            throw new ArgumentException($"The drift margin {_options.DriftMargin} is not smaller than the soft limit {softLimit}: no lease could ever count as held.", nameof(softLimit));
        }

        LeaseRegistration registration;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_holders.TryGetValue(holder, out var entry))
            {
                entry = new HolderEntry(holder, softLimit, hardLimit, requestSentTimestamp);
                _holders.Add(holder, entry);
            }
            else if (entry.Registrations.Exists(r => r.Path == path))
            {
                throw new InvalidOperationException($"'{holder}' already has '{path}' registered.");
            }

            var grantBound = requestSentTimestamp + Mono.ToTicks(softLimit) - _policy.DriftTicks;
            registration = new LeaseRegistration(this, holder, path, epoch, ++_registrationSequence, grantBound, rpcTimeout);
            entry.Registrations.Add(registration);
            if (entry.Registrations.Count == 1 && entry.RenewalBound == long.MinValue)
            {
                entry.NextAttemptAt = requestSentTimestamp + Mono.ToTicks(entry.Period(_policy));
            }
            else
            {
                entry.NextAttemptAt = Math.Min(entry.NextAttemptAt, entry.LastSend + Mono.ToTicks(entry.Period(_policy)));
            }

            _emptySince = null;
            if (_loop is null)
            {
                _parked = NewSignal();
                _loop = Task.Run(RunAsync);
            }
        }

        registration.Arm();
        Signal();
        return registration;
    }

    /// <summary>The holder's state, bound and failures; null when it has no open path here.</summary>
    public LeaseHolderStatus? GetStatus(string holder)
    {
        lock (_lock)
        {
            return _holders.TryGetValue(holder, out var entry) ? Snapshot(entry, Mono.Now) : null;
        }
    }

    /// <summary>Every holder with open paths.</summary>
    public IReadOnlyList<LeaseHolderStatus> GetStatuses()
    {
        lock (_lock)
        {
            var now = Mono.Now;
            return _holders.Values.OrderBy(e => e.Name, StringComparer.Ordinal).Select(e => Snapshot(e, now)).ToArray();
        }
    }

    /// <summary>True while the holder's lease counts as held here (see <see cref="LeaseHolderStatus.IsHeld"/>).</summary>
    public bool IsHeld(string holder) => GetStatus(holder)?.IsHeld ?? false;

    /// <summary>
    /// State changes of every holder, from now on. Each reader has its own buffer of
    /// <see cref="LeaseRenewerOptions.WatchCapacity"/> changes; a reader that falls further behind
    /// loses the oldest (the renewal task never waits for a reader). The current state is always
    /// available from <see cref="GetStatus"/>. Ends when the renewer is disposed.
    /// </summary>
    public async IAsyncEnumerable<LeaseStateChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<LeaseStateChange>(new BoundedChannelOptions(_options.WatchCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_lock)
        {
            if (_disposed)
            {
                yield break;
            }

            _watchers.Add(channel);
        }

        try
        {
            await foreach (var change in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return change;
            }
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(channel);
            }
        }
    }

    /// <summary>Stops renewing at once, aborts every open path (<see cref="LeaseAbortReason.RenewerDisposed"/>) and ends the watchers.</summary>
    public async ValueTask DisposeAsync()
    {
        Task? loop;
        List<LeaseRegistration> registrations;
        Channel<LeaseStateChange>[] watchers;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loop = _loop;
            registrations = _holders.Values.SelectMany(e => e.Registrations).ToList();
            _holders.Clear();
            watchers = [.. _watchers];
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        lock (_lock)
        {
            _loop = null;
        }

        _wakeTimer.Dispose();
        foreach (var registration in registrations)
        {
            registration.Abort(LeaseAbortReason.RenewerDisposed);
        }

        foreach (var watcher in watchers)
        {
            watcher.Writer.TryComplete();
        }

        _transport.Dispose();
        _stopping.Dispose();
        _onDisposed?.Invoke(this);
    }

    /// <summary>
    /// For tests: completes when the loop is idle — parked with no wake-up pending (a timer that
    /// fired or a registration signals one), or stopped.
    /// </summary>
    /// <summary>True when <paramref name="path"/> of <paramref name="holder"/> is registered and not yet aborted here.</summary>
    internal bool IsRegistered(string holder, string path)
    {
        lock (_lock)
        {
            return _holders.TryGetValue(holder, out var entry)
                && entry.Registrations.Exists(r => r.Path == path && !r.Token.IsCancellationRequested);
        }
    }

    internal Task WhenIdle()
    {
        lock (_lock)
        {
            return _loop is null || (_isParked && !_wake.Task.IsCompleted) ? Task.CompletedTask : _parked.Task;
        }
    }

    /// <summary>For tests: completes when the loop finishes its next pass.</summary>
    internal Task NextRoundCompleted
    {
        get
        {
            lock (_lock)
            {
                return _roundCompleted.Task;
            }
        }
    }

    /// <summary>Wakes the loop to evaluate now (registration changed, a bound passed).</summary>
    internal void Signal()
    {
        lock (_lock)
        {
            if (_isParked && !_wake.Task.IsCompleted)
            {
                // The loop will run a pass: idle again only when it parks next.
                _parked = NewSignal();
            }

            // Continuations run asynchronously: completing under the lock runs no code here.
            _wake.TrySetResult();
        }
    }

    internal void Unregister(LeaseRegistration registration, LeaseAbortReason reason)
    {
        lock (_lock)
        {
            if (_holders.TryGetValue(registration.Holder, out var entry) && entry.Registrations.Remove(registration))
            {
                if (entry.Registrations.Count == 0)
                {
                    _holders.Remove(registration.Holder);
                }

                if (_holders.Count == 0)
                {
                    _emptySince = Mono.Now;
                }
            }
        }

        registration.Abort(reason);
        Signal();
    }

    /// <summary>Marks a path as closing: from now on its absence on the server is expected.</summary>
    internal void MarkClosing(LeaseRegistration registration, bool closing = true)
    {
        lock (_lock)
        {
            registration.Closing = closing;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LeaseHolderStatus Snapshot(HolderEntry entry, long now)
    {
        var validUntil = entry.ValidUntil;
        var remaining = Mono.ToTimeSpan(validUntil - now);
        var state = entry.Evaluate(now, _policy).State;
        return new LeaseHolderStatus(
            entry.Name,
            state,
            validUntil,
            remaining,
            TimeProvider.GetUtcNow() + remaining,
            entry.Registrations.Count,
            entry.ConsecutiveFailures,
            entry.LastAttemptFailed ? entry.LastError : null);
    }

    private async Task RunAsync()
    {
        var stop = _stopping.Token;
        RenewerLog.Started(_logger, Name);
        while (!stop.IsCancellationRequested)
        {
            TaskCompletionSource wake;
            lock (_lock)
            {
                // Signals from here on wake the park below at once.
                _wake = NewSignal();
                wake = _wake;
            }

            long nextWake;
            try
            {
                var pass = EvaluateAll();
                if (pass.Exit)
                {
                    CompleteRound();
                    pass.Parked?.TrySetResult();
                    return;
                }

                foreach (var holder in pass.Due)
                {
                    await RenewHolderAsync(holder, stop).ConfigureAwait(false);
                }

                if (pass.Due.Count > 0)
                {
                    // Evaluate again at once: apply the results (state changes) and find the next wake-up.
                    CompleteRound();
                    continue;
                }

                nextWake = pass.NextWake;
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // Disposed: whatever the cancelled call threw, stop quietly.
                break;
            }
            catch (Exception ex)
            {
                // A pass never kills the loop.
                RenewerLog.PassFailed(_logger, Name, ex);
                nextWake = Mono.Now + Mono.ToTicks(_options.RetryInterval);
            }

            CompleteRound();
            await ParkAsync(wake, nextWake, stop).ConfigureAwait(false);
        }
    }

    private async Task ParkAsync(TaskCompletionSource wake, long nextWake, CancellationToken stop)
    {
        var delay = nextWake - Mono.Now;
        if (delay <= 0)
        {
            return;
        }

        var span = Mono.ToTimeSpan(delay);
        _wakeTimer.Change(span > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : span, Timeout.InfiniteTimeSpan);
        TaskCompletionSource parked;
        lock (_lock)
        {
            if (wake.Task.IsCompleted)
            {
                // Signalled during the pass: run another at once.
                return;
            }

            _isParked = true;
            parked = _parked;
        }

        parked.TrySetResult();
        try
        {
            await wake.Task.WaitAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            lock (_lock)
            {
                _isParked = false;
            }
        }
    }

    private void CompleteRound()
    {
        TaskCompletionSource round;
        lock (_lock)
        {
            round = _roundCompleted;
            _roundCompleted = NewSignal();
        }

        round.TrySetResult();
    }

    private readonly record struct Pass(List<string> Due, long NextWake, bool Exit, TaskCompletionSource? Parked);

    /// <summary>One evaluation of every holder: state changes, losses, who is due, when to wake.</summary>
    private Pass EvaluateAll()
    {
        var now = Mono.Now;
        var due = new List<string>();
        var changes = new List<LeaseStateChange>();
        var aborted = new List<(LeaseRegistration Registration, LeaseAbortReason Reason)>();
        var next = long.MaxValue;
        var exit = false;
        TaskCompletionSource? parked = null;
        lock (_lock)
        {
            List<HolderEntry>? lost = null;
            foreach (var entry in _holders.Values)
            {
                var decision = entry.Evaluate(now, _policy);
                if (decision.State == LeaseHolderState.Lost)
                {
                    (lost ??= []).Add(entry);
                    continue;
                }

                if (decision.State != entry.State)
                {
                    changes.Add(Change(entry, entry.State, decision.State, LeaseAbortReason.None, [], entry.LastAttemptFailed ? entry.LastError : null));
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
                changes.Add(Change(entry, entry.State, LeaseHolderState.Lost, LeaseAbortReason.HardLimitExceeded, entry.Registrations.Select(r => r.Path).ToArray(), entry.LastError));
                aborted.AddRange(entry.Registrations.Select(r => (r, LeaseAbortReason.HardLimitExceeded)));
            }

            if (_holders.Count == 0 && !_disposed)
            {
                _emptySince ??= now;
                var stopAt = _emptySince.Value + Mono.ToTicks(_options.GracePeriod);
                if (now >= stopAt)
                {
                    _loop = null;
                    exit = true;
                    parked = _parked;
                }

                next = Math.Min(next, stopAt);
            }
        }

        Publish(changes, aborted);
        if (exit)
        {
            RenewerLog.StoppedIdle(_logger, Name, _options.GracePeriod);
        }

        due.Sort(StringComparer.Ordinal);
        return new Pass(due, next, exit, parked);
    }

    private async Task RenewHolderAsync(string holder, CancellationToken stop)
    {
        HolderEntry? entry;
        long sequence;
        lock (_lock)
        {
            if (!_holders.TryGetValue(holder, out entry))
            {
                return;
            }

            sequence = _registrationSequence;
        }

        var sent = Mono.Now;
        RenewResult result;
        try
        {
            using var attempt = new CancellationTokenSource(_options.RenewalTimeout, TimeProvider);
            using var link = stop.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), attempt);
            try
            {
                result = await _transport.RenewAsync(holder, attempt.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stop.IsCancellationRequested && attempt.IsCancellationRequested && ex is not LeaseNotFoundException)
            {
                // The client reports its cancelled call as CANCELLED; say what happened.
                throw new TimeoutException($"Renewal of '{holder}' timed out after {_options.RenewalTimeout}.", ex);
            }
        }
        catch (LeaseNotFoundException ex) when (!stop.IsCancellationRequested)
        {
            OnNotFound(entry, sequence, ex);
            return;
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            OnFailed(entry, ex);
            return;
        }

        stop.ThrowIfCancellationRequested();
        var check = OnRenewed(entry, sequence, sent, result);
        if (check is { } expected)
        {
            await CheckRevokedAsync(entry, sequence, expected, result.LeasesRenewed, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Applies a successful renewal; returns the number of paths expected when the server renewed fewer.</summary>
    private int? OnRenewed(HolderEntry entry, long sequence, long sent, RenewResult result)
    {
        var toArm = new List<LeaseRegistration>();
        int expected;
        var elapsed = Mono.ToTimeSpan(Mono.Now - sent);
        TimeSpan period;
        lock (_lock)
        {
            if (!_holders.TryGetValue(entry.Name, out var current) || current != entry)
            {
                return null;
            }

            if (result.SoftLimit > TimeSpan.Zero && result.HardLimit >= result.SoftLimit)
            {
                entry.SoftLimit = result.SoftLimit;
                entry.HardLimit = result.HardLimit;
            }

            var bound = sent + Mono.ToTicks(entry.SoftLimit) - _policy.DriftTicks;
            entry.RenewalBound = Math.Max(entry.RenewalBound, bound);
            entry.LastSend = Math.Max(entry.LastSend, sent);
            entry.LastAttemptFailed = false;
            entry.ConsecutiveFailures = 0;
            entry.LastError = null;
            period = entry.Period(_policy);
            entry.NextAttemptAt = sent + Mono.ToTicks(period);
            expected = 0;
            foreach (var registration in entry.Registrations)
            {
                // Only a renewal sent after the path was registered (so after its AddLease answered) covers it.
                if (registration.Sequence <= sequence)
                {
                    registration.ExtendBound(bound);
                    toArm.Add(registration);
                    if (!registration.Closing)
                    {
                        expected++;
                    }
                }
            }
        }

        if (elapsed > period / 3)
        {
            RenewerLog.SlowRenewal(_logger, Name, entry.Name, elapsed, period);
        }

        foreach (var registration in toArm)
        {
            registration.Arm();
        }

        return result.LeasesRenewed < expected ? expected : null;
    }

    private void OnFailed(HolderEntry entry, Exception error)
    {
        int failures;
        TimeSpan remaining;
        lock (_lock)
        {
            if (!_holders.TryGetValue(entry.Name, out var current) || current != entry)
            {
                return;
            }

            entry.LastAttemptFailed = true;
            entry.LastError = error;
            failures = ++entry.ConsecutiveFailures;
            var spread = (_random.NextDouble() * 2 - 1) * _options.RetryJitter;
            entry.NextAttemptAt = Mono.Now + Mono.ToTicks(_options.RetryInterval * (1 + spread));
            remaining = Mono.ToTimeSpan(entry.ValidUntil - Mono.Now);
        }

        // A warning for the first failure and every tenth after it: retries run about every second.
        if (failures == 1 || failures % 10 == 0)
        {
            RenewerLog.RenewFailed(_logger, Name, entry.Name, failures, remaining, error);
        }
        else
        {
            RenewerLog.RenewFailedAgain(_logger, Name, entry.Name, failures, remaining, error);
        }
    }

    private void OnNotFound(HolderEntry entry, long sequence, LeaseNotFoundException error)
    {
        var changes = new List<LeaseStateChange>();
        var aborted = new List<(LeaseRegistration, LeaseAbortReason)>();
        lock (_lock)
        {
            if (!_holders.TryGetValue(entry.Name, out var current) || current != entry)
            {
                return;
            }

            // Paths registered after the renewal was sent, or being closed, may rightly be unknown to it.
            var victims = entry.Registrations.Where(r => r.Sequence <= sequence && !r.Closing).ToList();
            if (victims.Count == 0)
            {
                entry.NextAttemptAt = Mono.Now + Mono.ToTicks(_options.RetryInterval);
                return;
            }

            _holders.Remove(entry.Name);
            var survivors = entry.Registrations.Except(victims).ToList();
            if (survivors.Count > 0)
            {
                // A fresh holder entry for the paths opened since: their own grants count.
                var fresh = new HolderEntry(entry.Name, entry.SoftLimit, entry.HardLimit, Mono.Now);
                fresh.Registrations.AddRange(survivors);
                fresh.NextAttemptAt = Mono.Now;
                _holders.Add(entry.Name, fresh);
            }
            else if (_holders.Count == 0)
            {
                _emptySince = Mono.Now;
            }

            changes.Add(Change(entry, entry.State, LeaseHolderState.Lost, LeaseAbortReason.HolderNotFound, victims.Select(r => r.Path).ToArray(), error));
            aborted.AddRange(victims.Select(r => (r, LeaseAbortReason.HolderNotFound)));
        }

        Publish(changes, aborted);
    }

    private async Task CheckRevokedAsync(HolderEntry entry, long sequence, int expected, int renewed, CancellationToken stop)
    {
        RenewerLog.RenewedFewer(_logger, Name, entry.Name, renewed, expected);
        IReadOnlySet<string> held;
        try
        {
            using var attempt = new CancellationTokenSource(_options.RenewalTimeout, TimeProvider);
            using var link = stop.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), attempt);
            held = await _transport.ListHeldPathsAsync(entry.Name, attempt.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            // The next round looks again.
            RenewerLog.RenewFailed(_logger, Name, entry.Name, 0, TimeSpan.Zero, ex);
            return;
        }

        var changes = new List<LeaseStateChange>();
        var aborted = new List<(LeaseRegistration, LeaseAbortReason)>();
        List<LeaseRegistration> victims;
        lock (_lock)
        {
            if (!_holders.TryGetValue(entry.Name, out var current) || current != entry)
            {
                return;
            }

            victims = entry.Registrations.Where(r => r.Sequence <= sequence && !r.Closing && !held.Contains(r.Path)).ToList();
            if (victims.Count == 0)
            {
                return;
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
                    _emptySince = Mono.Now;
                }
            }

            changes.Add(Change(entry, entry.State, entry.State, LeaseAbortReason.Revoked, victims.Select(r => r.Path).ToArray(), null));
            aborted.AddRange(victims.Select(r => (r, LeaseAbortReason.Revoked)));
        }

        foreach (var victim in victims)
        {
            RenewerLog.Revoked(_logger, Name, entry.Name, victim.Path); // Logged outside the lock.
        }

        Publish(changes, aborted);
    }

    private LeaseStateChange Change(HolderEntry entry, LeaseHolderState previous, LeaseHolderState current, LeaseAbortReason reason, IReadOnlyList<string> paths, Exception? error)
        => new(entry.Name, previous, current, reason, paths, TimeProvider.GetUtcNow(), error);

    /// <summary>Aborts first (writers stop), then tells the watchers. Never under the lock.</summary>
    private void Publish(List<LeaseStateChange> changes, List<(LeaseRegistration Registration, LeaseAbortReason Reason)> aborted)
    {
        foreach (var (registration, reason) in aborted)
        {
            registration.Abort(reason);
        }

        if (changes.Count == 0)
        {
            return;
        }

        Channel<LeaseStateChange>[] watchers;
        lock (_lock)
        {
            watchers = [.. _watchers];
        }

        foreach (var change in changes)
        {
            if (change.Current == LeaseHolderState.Lost)
            {
                RenewerLog.Lost(_logger, Name, change.Holder, change.Reason, change.AbortedPaths.Count);
            }
            else if (change.Previous != change.Current)
            {
                RenewerLog.StateChanged(_logger, Name, change.Holder, change.Previous, change.Current);
            }

            foreach (var watcher in watchers)
            {
                watcher.Writer.TryWrite(change);
            }
        }
    }
}
