using System.Diagnostics;
using LeaseService.Client.Renewal.Internal;

namespace LeaseService.Client.Renewal;

/// <summary>
/// One open path registered with a <see cref="LeaseRenewer"/>: while it is registered the
/// renewer keeps its holder's lease alive. <see cref="Token"/> trips at the path's validity bound
/// (re-armed by every successful renewal), when the holder's lease is lost, and when the path is
/// closed; <see cref="AbortReason"/> says why. Dispose it when the path is closed or abandoned.
/// </summary>
public sealed class LeaseRegistration : IDisposable
{
    private static readonly TimerCallback OnTimer = static state => ((LeaseRegistration)state!).TimerFired();

    private readonly LeaseRenewer _renewer;
    private readonly CancellationTokenSource _cts = new();
    private readonly ITimer _timer;
    private readonly Lock _timerLock = new();
    private int _reason;
    private long _bound;
    private bool _timerDisposed;

    internal LeaseRegistration(LeaseRenewer renewer, string holder, string path, ulong epoch, long sequence, long grantBound, TimeSpan? rpcTimeout)
    {
        _renewer = renewer;
        Holder = holder;
        Path = path;
        Epoch = epoch;
        Sequence = sequence;
        _bound = grantBound;
        RpcTimeout = rpcTimeout;
        _timer = renewer.TimeProvider.CreateTimer(OnTimer, this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The lease holder (client name).</summary>
    public string Holder { get; }

    /// <summary>The open path.</summary>
    public string Path { get; }

    /// <summary>The fencing epoch the path was granted with.</summary>
    public ulong Epoch { get; }

    /// <summary>
    /// Trips when the lease of this path can no longer be counted on: at the validity bound unless
    /// a renewal moved it, when the holder is lost, when the path is closed, and when the renewer
    /// is disposed. Once tripped it stays tripped: reopen the path to write again.
    /// </summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>Why <see cref="Token"/> tripped; <see cref="LeaseAbortReason.None"/> while held.</summary>
    public LeaseAbortReason AbortReason
    {
        get
        {
            var reason = (LeaseAbortReason)Volatile.Read(ref _reason);
            return reason == LeaseAbortReason.None && _cts.IsCancellationRequested ? LeaseAbortReason.ValidityExpired : reason;
        }
    }

    /// <summary>The validity bound as a timestamp of the renewer's <see cref="TimeProvider"/>.</summary>
    public long ValidUntilTimestamp => Volatile.Read(ref _bound);

    /// <summary>Time left until the validity bound; zero once passed or aborted.</summary>
    public TimeSpan Remaining => _cts.IsCancellationRequested
        ? TimeSpan.Zero
        : _renewer.Mono.ToTimeSpan(ValidUntilTimestamp - _renewer.Mono.Now);

    /// <summary>True while the path's lease counts as held: not aborted and the bound not passed.</summary>
    public bool IsHeld => !_cts.IsCancellationRequested && _renewer.Mono.Now < ValidUntilTimestamp;

    /// <summary>The state of the holder's lease as the renewer sees it.</summary>
    public LeaseHolderState HolderState => _renewer.GetStatus(Holder)?.State
        ?? (AbortReason is LeaseAbortReason.HolderNotFound or LeaseAbortReason.HardLimitExceeded ? LeaseHolderState.Lost : LeaseHolderState.Held);

    internal long Sequence { get; }

    internal TimeSpan? RpcTimeout { get; }

    /// <summary>Set (under the renewer's lock) before the close is sent: a closing path missing on the server is not a loss.</summary>
    internal bool Closing { get; set; }

    /// <summary>Throws <see cref="LeaseLostException"/> unless <see cref="IsHeld"/>.</summary>
    public void ThrowIfNotHeld()
    {
        if (!IsHeld)
        {
            var reason = AbortReason;
            throw new LeaseLostException(Holder, Path, reason == LeaseAbortReason.None ? LeaseAbortReason.ValidityExpired : reason);
        }
    }

    /// <summary>Unregisters the path (the renewer stops counting it) and trips <see cref="Token"/>.</summary>
    public void Dispose() => _renewer.Unregister(this, LeaseAbortReason.Unregistered);

    /// <summary>Moves the bound forward (never back). Caller holds the renewer's lock.</summary>
    internal void ExtendBound(long bound)
    {
        if (bound > _bound)
        {
            Volatile.Write(ref _bound, bound);
        }
    }

    /// <summary>Arms the timer at the bound, or trips now if it has passed. Called outside the renewer's lock.</summary>
    internal void Arm()
    {
        if (_cts.IsCancellationRequested)
        {
            return;
        }

        var left = ValidUntilTimestamp - _renewer.Mono.Now;
        if (left <= 0)
        {
            Abort(LeaseAbortReason.ValidityExpired);
            _renewer.Signal();
            return;
        }

        lock (_timerLock)
        {
            if (!_timerDisposed)
            {
                _timer.Change(Clamp(_renewer.Mono.ToTimeSpan(left)), Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Trips the token with <paramref name="reason"/> unless already tripped; true if this call tripped it.</summary>
    internal bool Abort(LeaseAbortReason reason)
    {
        Debug.Assert(reason != LeaseAbortReason.None);
        lock (_timerLock)
        {
            _timerDisposed = true;
            _timer.Dispose();
        }

        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)LeaseAbortReason.None) != (int)LeaseAbortReason.None)
        {
            return false;
        }

        // The token reads as cancelled at once; the application's callbacks run on the thread pool,
        // never on the renewal task or a timer thread, so a slow callback cannot delay renewals.
        _cts.CancelAsync().ContinueWith(
            static t => _ = t.Exception,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return true;
    }

    private void TimerFired()
    {
        if (_renewer.Mono.Now >= ValidUntilTimestamp)
        {
            if (Abort(LeaseAbortReason.ValidityExpired))
            {
                _renewer.Signal();
            }

            return;
        }

        Arm();
    }

    private static TimeSpan Clamp(TimeSpan delay)
        => delay > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : delay < TimeSpan.FromTicks(1) ? TimeSpan.FromTicks(1) : delay;
}
