namespace LeaseService.Core.Time;

/// <summary>
/// A clock that moves only when told to: <see cref="Advance"/> or <see cref="AdvanceTo"/> move
/// time forward and fire every timer that falls due, in due order, before returning. Monotonic
/// timestamps are in ticks (Frequency = TimeSpan.TicksPerSecond). The tests' fake clock and the
/// server's opt-in manual test clock (<c>Testing:ManualClock</c>) are this class.
/// </summary>
public class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _utcNow;
    private long _timestamp;
    private TaskCompletionSource _timerArmed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A clock at <paramref name="start"/> wall-clock time.</summary>
    public ManualTimeProvider(DateTimeOffset start)
    {
        _utcNow = start;
        _timestamp = TimeSpan.TicksPerDay; // Non-zero so "0" never means "now" by accident.
        StartTimestamp = _timestamp;
    }

    /// <summary>The timestamp when the clock was created.</summary>
    public long StartTimestamp { get; }

    /// <summary>
    /// When positive, every <see cref="GetTimestamp"/> call first moves time forward by this much
    /// (without firing timers): code that measures its own elapsed time sees time pass.
    /// </summary>
    public TimeSpan AutoAdvance { get; set; }

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

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

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _utcNow;
        }
    }

    /// <inheritdoc />
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

    /// <summary>Completes when a timer is next armed (created or changed with a finite due time).</summary>
    public Task WaitForTimerArmedAsync()
    {
        lock (_gate)
        {
            return _timerArmed.Task;
        }
    }

    /// <summary>Moves time forward by <paramref name="delta"/>, firing every timer that falls due, in order of due time.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        long target;
        lock (_gate)
        {
            target = _timestamp + delta.Ticks;
        }

        AdvanceTo(target);
    }

    /// <summary>Moves time forward to the timestamp <paramref name="target"/>, firing every timer that falls due, in order of due time.</summary>
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

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        TaskCompletionSource? armed = null;
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
            if (timer.DueAt is not null)
            {
                armed = _timerArmed;
                _timerArmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        armed?.TrySetResult();
    }

    private void Remove(ManualTimer timer)
    {
        lock (_gate)
        {
            timer.Disposed = true;
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
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
