using LeaseService.Client.Renewal.Internal;

namespace LeaseService.Client.Tests;

/// <summary>
/// The renewer's clock in tests: passes every call to the test's fake clock, and watches the
/// renewal loop's wake-up timer (the timer whose state is a <see cref="RenewalLoop"/>). The loop
/// arms that timer only when it parks with nothing pending, and a signal or the timer firing
/// disarms it, so "every live wake-up timer is armed" means the renewer is idle: nothing runs
/// until the clock moves or the test acts. This is the test-side sync point; the product has none.
/// </summary>
internal sealed class RenewerTestClock(TimeProvider inner) : TimeProvider
{
    private readonly TimeProvider _inner = inner;
    private readonly Lock _gate = new();
    private readonly List<WakeTimer> _live = [];
    private readonly List<TaskCompletionSource> _waiters = [];

    /// <summary>How many runs of the background loop have started (each creates one wake-up timer).</summary>
    public int LoopRuns { get; private set; }

    /// <summary>True while a run of the loop is alive (its wake-up timer not yet disposed).</summary>
    public bool LoopAlive
    {
        get
        {
            lock (_gate)
            {
                return _live.Count > 0;
            }
        }
    }

    public override long TimestampFrequency => _inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _inner.LocalTimeZone;

    public override long GetTimestamp() => _inner.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (state is not RenewalLoop)
        {
            return _inner.CreateTimer(callback, state, dueTime, period);
        }

        var timer = new WakeTimer(this, callback, state);
        lock (_gate)
        {
            LoopRuns++;
            _live.Add(timer);
        }

        timer.Start(dueTime, period);
        return timer;
    }

    /// <summary>Completes when every run of the loop is parked with its wake-up timer armed, or has ended.</summary>
    public Task WhenIdleAsync()
    {
        lock (_gate)
        {
            if (IsIdleLocked())
            {
                return Task.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add(waiter);
            return waiter.Task;
        }
    }

    private bool IsIdleLocked() => _live.TrueForAll(t => t.Armed);

    private void Changed(WakeTimer timer, bool? armed, bool disposed)
    {
        TaskCompletionSource[] ready = [];
        lock (_gate)
        {
            if (armed is { } a)
            {
                timer.Armed = a;
            }

            if (disposed)
            {
                _live.Remove(timer);
            }

            if (IsIdleLocked())
            {
                ready = [.. _waiters];
                _waiters.Clear();
            }
        }

        foreach (var waiter in ready)
        {
            waiter.TrySetResult();
        }
    }

    private sealed class WakeTimer(RenewerTestClock owner, TimerCallback callback, object? state) : ITimer
    {
        private ITimer _inner = null!;

        public bool Armed { get; set; }

        public void Start(TimeSpan dueTime, TimeSpan period)
        {
            _inner = owner._inner.CreateTimer(static s => ((WakeTimer)s!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Change(dueTime, period);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var result = _inner.Change(dueTime, period);
            owner.Changed(this, dueTime != Timeout.InfiniteTimeSpan, disposed: false);
            return result;
        }

        public void Dispose()
        {
            _inner.Dispose();
            owner.Changed(this, armed: null, disposed: true);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void Fire()
        {
            // One-shot: fired means no longer armed, before the loop hears of it.
            owner.Changed(this, armed: false, disposed: false);
            callback(state);
        }
    }
}
