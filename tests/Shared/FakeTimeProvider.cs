using ITimer = System.Threading.ITimer;

namespace LeaseService.Testing;

/// <summary>
/// The tests' clock: Microsoft's <see cref="Microsoft.Extensions.Time.Testing.FakeTimeProvider"/>
/// (time moves only on <c>Advance</c>, due timers fire inside that call), starting at 2026-01-01
/// UTC, plus what it lacks: <see cref="WaitForTimerArmedAsync"/> and <see cref="ArmedTimerCount"/>
/// (sync points for code whose timers the test must reach), <see cref="StartTimestamp"/> and
/// <see cref="AdvanceTo"/>.
/// </summary>
public sealed class FakeTimeProvider : Microsoft.Extensions.Time.Testing.FakeTimeProvider
{
    private readonly Lock _gate = new();
    private readonly HashSet<TrackedTimer> _armed = [];
    private TaskCompletionSource _timerArmed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FakeTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public FakeTimeProvider(DateTimeOffset start)
        : base(start)
    {
        StartTimestamp = GetTimestamp();
    }

    /// <summary>The timestamp when the clock was created.</summary>
    public long StartTimestamp { get; }

    /// <summary>Timers with a finite due time that have not fired their last time or been disposed.</summary>
    public int ArmedTimerCount
    {
        get
        {
            lock (_gate)
            {
                return _armed.Count;
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

    /// <summary>Moves time forward to the timestamp <paramref name="target"/>, firing every timer that falls due.</summary>
    public void AdvanceTo(long target) => Advance(TimeSpan.FromTicks(target - GetTimestamp()));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var tracked = new TrackedTimer(this);
        tracked.Inner = base.CreateTimer(
            s =>
            {
                tracked.Fired();
                callback(s);
            },
            state,
            dueTime,
            period);
        tracked.Track(dueTime, period);
        return tracked;
    }

    private void SetArmed(TrackedTimer timer, bool armed)
    {
        TaskCompletionSource? signal = null;
        lock (_gate)
        {
            if (!armed)
            {
                _armed.Remove(timer);
                return;
            }

            _armed.Add(timer);
            signal = _timerArmed;
            _timerArmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
    }

    private sealed class TrackedTimer(FakeTimeProvider owner) : ITimer
    {
        private bool _periodic;

        public ITimer Inner { get; set; } = null!;

        public void Track(TimeSpan dueTime, TimeSpan period)
        {
            _periodic = period != Timeout.InfiniteTimeSpan && period > TimeSpan.Zero;
            owner.SetArmed(this, dueTime != Timeout.InfiniteTimeSpan);
        }

        public void Fired()
        {
            if (!_periodic)
            {
                owner.SetArmed(this, armed: false);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = Inner.Change(dueTime, period);
            Track(dueTime, period);
            return changed;
        }

        public void Dispose()
        {
            owner.SetArmed(this, armed: false);
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            owner.SetArmed(this, armed: false);
            return Inner.DisposeAsync();
        }
    }
}
