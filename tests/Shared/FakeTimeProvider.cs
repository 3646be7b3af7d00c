namespace LeaseService.Testing;

/// <summary>
/// A TimeProvider the test owns: time moves only when <see cref="Advance"/> is called, and due
/// timers fire synchronously inside that call, in due order. Monotonic timestamps are in ticks
/// (Frequency = TimeSpan.TicksPerSecond).
/// </summary>
public sealed class FakeTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<FakeTimer> _timers = [];
    private DateTimeOffset _utcNow;
    private long _timestamp;
    private TaskCompletionSource _timerArmed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FakeTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public FakeTimeProvider(DateTimeOffset start)
    {
        _utcNow = start;
        _timestamp = TimeSpan.TicksPerDay; // Non-zero so "0" never means "now" by accident.
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _utcNow;
        }
    }

    /// <summary>
    /// When positive, every <see cref="GetTimestamp"/> call first moves time forward by this much
    /// (without firing timers): code that measures its own elapsed time sees time pass.
    /// </summary>
    public TimeSpan AutoAdvance { get; set; }

    public override long GetTimestamp()
    {
        lock (_gate)
        {
            if (AutoAdvance > TimeSpan.Zero)
            {
                _timestamp += AutoAdvance.Ticks;
                _utcNow += AutoAdvance;
            }

            return _timestamp;
        }
    }

    /// <summary>Number of timers currently armed (due time not infinite).</summary>
    public int ArmedTimerCount
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(t => t.DueAt is not null);
            }
        }
    }

    /// <summary>Completes when a timer is next armed (created or changed with a finite due time).</summary>
    public Task WaitForTimerArmedAsync()
    {
        lock (_gate)
        {
            return _timerArmed.Task;
        }
    }

    /// <summary>Moves time forward, firing every timer that falls due, in order of due time.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        long target;
        lock (_gate)
        {
            target = _timestamp + delta.Ticks;
        }

        while (true)
        {
            FakeTimer? due = null;
            lock (_gate)
            {
                foreach (var timer in _timers)
                {
                    if (timer.DueAt is { } at && at <= target && (due is null || at < due.DueAt))
                    {
                        due = timer;
                    }
                }

                if (due is null)
                {
                    _utcNow += TimeSpan.FromTicks(target - _timestamp);
                    _timestamp = target;
                    return;
                }

                var dueAt = due.DueAt!.Value;
                _utcNow += TimeSpan.FromTicks(dueAt - _timestamp);
                _timestamp = dueAt;
                due.DueAt = due.Period is { } p && p > TimeSpan.Zero ? dueAt + p.Ticks : null;
            }

            due.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private void Arm(FakeTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        TaskCompletionSource? armed = null;
        lock (_gate)
        {
            if (!_timers.Contains(timer))
            {
                _timers.Add(timer);
            }

            timer.Period = period == Timeout.InfiniteTimeSpan ? null : period;
            timer.DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : _timestamp + dueTime.Ticks;
            if (timer.DueAt is not null)
            {
                armed = _timerArmed;
                _timerArmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        armed?.TrySetResult();
    }

    private void Remove(FakeTimer timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class FakeTimer(FakeTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long? DueAt { get; set; }

        public TimeSpan? Period { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Arm(this, dueTime, period);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            owner.Remove(this);
            return ValueTask.CompletedTask;
        }
    }
}
