using Microsoft.Extensions.Logging;

namespace LeaseService.Client.Renewal.Internal;

/// <summary>
/// One run of the renewer's background task: from the first registration until the table has been
/// empty for the grace period, or the renewer is disposed. Each pass evaluates the table, renews the
/// holders due one at a time (one renewal in flight), then parks until the next wake-up (a timer of
/// the renewer's <see cref="TimeProvider"/>) or a <see cref="Signal"/>. A failed pass is logged and
/// retried; the loop never dies of one. Failed renewals are retried after the retry interval with
/// jitter. The wake timer is armed only while the loop is parked with no signal pending, and is
/// disposed when the run ends.
/// </summary>
internal sealed class RenewalLoop
{
    private readonly string _name;
    private readonly Lock _gate;
    private readonly HolderTable _table;
    private readonly StateBroadcaster _broadcaster;
    private readonly IRenewalTransport _transport;
    private readonly LeaseRenewerOptions _options;
    private readonly MonotonicTime _mono;
    private readonly ILogger _logger;
    private readonly Random _random;
    private readonly Func<RenewalLoop, EvaluationPass> _evaluate;
    private readonly CancellationToken _stop;
    private readonly ITimer _wakeTimer;
    private TaskCompletionSource _wake = NewSignal();
    private bool _timerDisposed;

    /// <param name="name">The renewer's name, for logs.</param>
    /// <param name="gate">The renewer's lock: guards the table and this loop's wake state.</param>
    /// <param name="table">The holders (read and changed under <paramref name="gate"/>).</param>
    /// <param name="broadcaster">Carries out the effects of failures and losses.</param>
    /// <param name="transport">The server.</param>
    /// <param name="options">Timeouts, retry interval and jitter.</param>
    /// <param name="logger">Renewal failures and pass failures.</param>
    /// <param name="evaluate">One evaluation of the table by the renewer (it clears its current loop on exit).</param>
    /// <param name="stop">Trips when the renewer is disposed.</param>
    public RenewalLoop(string name, Lock gate, HolderTable table, StateBroadcaster broadcaster, IRenewalTransport transport, LeaseRenewerOptions options, ILogger logger, Func<RenewalLoop, EvaluationPass> evaluate, CancellationToken stop)
    {
        _name = name;
        _gate = gate;
        _table = table;
        _broadcaster = broadcaster;
        _transport = transport;
        _options = options;
        _mono = table.Policy.Mono;
        _logger = logger;
        _random = options.Random ?? Random.Shared;
        _evaluate = evaluate;
        _stop = stop;
        _wakeTimer = options.TimeProvider.CreateTimer(static s => ((RenewalLoop)s!).Signal(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Task = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>Completes when the run ends.</summary>
    public Task Task { get; }

    /// <summary>Wakes the loop to evaluate now (registration changed, a bound passed).</summary>
    public void Signal()
    {
        lock (_gate)
        {
            SignalLocked();
        }
    }

    /// <summary><see cref="Signal"/>, for a caller that holds the renewer's lock.</summary>
    public void SignalLocked()
    {
        // A pass is coming: the wake-up timer is not needed until the loop parks again.
        if (!_timerDisposed)
        {
            _wakeTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        // Continuations run asynchronously: completing under the lock runs no code here.
        _wake.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task RunAsync()
    {
        RenewerLog.Started(_logger, _name);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                TaskCompletionSource wake;
                lock (_gate)
                {
                    // Signals from here on wake the park below at once.
                    _wake = NewSignal();
                    wake = _wake;
                }

                long nextWake;
                try
                {
                    var pass = _evaluate(this);
                    if (pass.Exit)
                    {
                        return;
                    }

                    foreach (var holder in pass.Due)
                    {
                        await RenewHolderAsync(holder).ConfigureAwait(false);
                    }

                    if (pass.Due.Count > 0)
                    {
                        // Evaluate again at once: apply the results (state changes) and find the next wake-up.
                        continue;
                    }

                    nextWake = pass.NextWake;
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    // Disposed: whatever the cancelled call threw, stop quietly.
                    break;
                }
                catch (Exception ex)
                {
                    // A pass never kills the loop.
                    RenewerLog.PassFailed(_logger, _name, ex);
                    nextWake = _mono.Now + _mono.ToTicks(_options.RetryInterval);
                }

                await ParkAsync(wake, nextWake).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_gate)
            {
                _timerDisposed = true;
                _wakeTimer.Dispose();
            }
        }
    }

    private async Task ParkAsync(TaskCompletionSource wake, long nextWake)
    {
        var delay = nextWake - _mono.Now;
        if (delay <= 0)
        {
            return;
        }

        var span = _mono.ToTimeSpan(delay);
        lock (_gate)
        {
            if (wake.Task.IsCompleted)
            {
                // Signalled during the pass: run another at once.
                return;
            }

            // Armed under the lock, so a signal always finds it armed and disarms it.
            _wakeTimer.Change(span > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : span, Timeout.InfiniteTimeSpan);
        }

        try
        {
            await wake.Task.WaitAsync(_stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task RenewHolderAsync(string holder)
    {
        HolderEntry? entry;
        long sequence;
        lock (_gate)
        {
            if (!_table.TryGet(holder, out entry))
            {
                return;
            }

            sequence = _table.RegistrationSequence;
        }

        var sent = _mono.Now;
        RenewResult result;
        try
        {
            using var attempt = new CancellationTokenSource(_options.RenewalTimeout, _options.TimeProvider);
            using var link = _stop.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), attempt);
            try
            {
                result = await _transport.RenewAsync(holder, attempt.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested && attempt.IsCancellationRequested && ex is not LeaseNotFoundException)
            {
                // The client reports its cancelled call as CANCELLED; say what happened.
                throw new TimeoutException($"Renewal of '{holder}' timed out after {_options.RenewalTimeout}.", ex);
            }
        }
        catch (LeaseNotFoundException ex) when (!_stop.IsCancellationRequested)
        {
            TableEffects lost;
            lock (_gate)
            {
                lost = _table.NotFound(entry, sequence, ex, _mono.Now);
            }

            _broadcaster.Publish(lost);
            return;
        }
        catch (Exception ex) when (!_stop.IsCancellationRequested)
        {
            OnFailed(entry, ex);
            return;
        }

        _stop.ThrowIfCancellationRequested();
        var elapsed = _mono.ToTimeSpan(_mono.Now - sent);
        RenewedOutcome renewed;
        lock (_gate)
        {
            renewed = _table.Renewed(entry, sequence, sent, result);
        }

        if (!renewed.Applied)
        {
            return;
        }

        if (elapsed > renewed.Period / 3)
        {
            RenewerLog.SlowRenewal(_logger, _name, entry.Name, elapsed, renewed.Period);
        }

        foreach (var registration in renewed.ToArm)
        {
            registration.Arm();
        }

        // Fewer than the open paths: one was taken. Fewer than open plus closing paths (plus those
        // the application abandoned, which the holder still holds): the server may have counted
        // one of those in place of one it took, so the count cannot tell; the list can.
        if (result.LeasesRenewed < renewed.Expected + renewed.Closing + renewed.Unregistered)
        {
            await CheckRevokedAsync(entry, sequence, renewed.Expected, result.LeasesRenewed, renewed.Bound).ConfigureAwait(false);
        }
    }

    private void OnFailed(HolderEntry entry, Exception error)
    {
        FailedOutcome failed;
        lock (_gate)
        {
            failed = _table.Failed(entry, error, _mono.Now, RetryDelay);
        }

        if (!failed.Applied)
        {
            return;
        }

        // A warning for the first failure and every tenth after it: retries run about every second.
        if (failed.Failures == 1 || failed.Failures % 10 == 0)
        {
            RenewerLog.RenewFailed(_logger, _name, entry.Name, failed.Failures, failed.Remaining, error);
        }
        else
        {
            RenewerLog.RenewFailedAgain(_logger, _name, entry.Name, failed.Failures, failed.Remaining, error);
        }
    }

    /// <summary>The retry interval spread by ± the jitter.</summary>
    private TimeSpan RetryDelay()
    {
        var spread = (_random.NextDouble() * 2 - 1) * _options.RetryJitter;
        return _options.RetryInterval * (1 + spread);
    }

    private async Task CheckRevokedAsync(HolderEntry entry, long sequence, int expected, int renewed, long bound)
    {
        if (renewed < expected)
        {
            RenewerLog.RenewedFewer(_logger, _name, entry.Name, renewed, expected);
        }

        IReadOnlySet<string> held;
        try
        {
            using var attempt = new CancellationTokenSource(_options.RenewalTimeout, _options.TimeProvider);
            using var link = _stop.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), attempt);
            held = await _transport.ListHeldPathsAsync(entry.Name, attempt.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!_stop.IsCancellationRequested)
        {
            // No open path's bound moved for this renewal: a failed attempt like any other, so the
            // holder is retried after the retry interval (renewed and listed again), not a period later.
            OnFailed(entry, ex);
            return;
        }

        TableEffects revoked;
        List<LeaseRegistration> confirmed;
        lock (_gate)
        {
            revoked = _table.Revoked(entry, sequence, held, _mono.Now);
            confirmed = _table.Confirmed(entry, sequence, bound);
        }

        foreach (var registration in confirmed)
        {
            registration.Arm();
        }

        foreach (var transition in revoked.Transitions)
        {
            foreach (var path in transition.AbortedPaths)
            {
                RenewerLog.Revoked(_logger, _name, entry.Name, path); // Logged outside the lock.
            }
        }

        _broadcaster.Publish(revoked);
    }
}
