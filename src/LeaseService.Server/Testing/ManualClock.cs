namespace LeaseService.Server.Testing;

/// <summary>
/// The clock of a server started with <c>Testing:ManualClock=true</c>: time moves only when
/// <see cref="AdvanceTo"/> is called, and due timers fire inside that call, in due order (the same
/// rules as the tests' FakeTimeProvider). Monotonic timestamps are in ticks.
/// </summary>
internal sealed class ManualClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _utcNow;
    private long _timestamp;

    public ManualClock(DateTimeOffset start)
    {
        _utcNow = start;
        _timestamp = TimeSpan.TicksPerDay; // Non-zero so "0" never means "now" by accident.
        StartTimestamp = _timestamp;
    }

    /// <summary>The timestamp when the clock was created; nothing moves it before the first advance.</summary>
    public long StartTimestamp { get; }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _utcNow;
        }
    }

    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _timestamp;
        }
    }

    /// <summary>Moves time forward to <paramref name="target"/>, firing every timer that falls due, in order of due time.</summary>
    public void AdvanceTo(long target)
    {
        while (true)
        {
            ManualTimer? due = null;
            lock (_gate)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(target, _timestamp);
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

            // Outside the lock: a callback may create or change timers.
            due.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            if (timer.Disposed)
            {
                return;
            }

            if (!_timers.Contains(timer))
            {
                _timers.Add(timer);
            }

            timer.Period = period == Timeout.InfiniteTimeSpan ? null : period;
            timer.DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : _timestamp + dueTime.Ticks;
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_gate)
        {
            timer.Disposed = true;
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualClock owner, TimerCallback callback, object? state) : ITimer
    {
        public long? DueAt { get; set; }

        public TimeSpan? Period { get; set; }

        public bool Disposed { get; set; }

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
