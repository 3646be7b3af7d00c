using System.Runtime.CompilerServices;
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
    private readonly HolderTable _table;
    private readonly StateBroadcaster _broadcaster;
    private readonly IRenewalTransport _transport;
    private readonly LeaseRenewerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Action<LeaseRenewer>? _onDisposed;
    private RenewalLoop? _loop;
    private bool _disposed;

    /// <summary>How renewals reach the server.</summary>
    internal IRenewalTransport Transport => _transport;

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
        _table = new HolderTable(new RenewalPolicy(Mono, Mono.ToTicks(options.DriftMargin), options.MaxRenewalPeriod, options.JeopardyWindow, Mono.ToTicks(options.GracePeriod), options.RetryInterval));
        _logger = options.LoggerFactory.CreateLogger<LeaseRenewer>();
        _broadcaster = new StateBroadcaster(Name, options.WatchCapacity, TimeProvider, _logger);
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

    /// <summary>Now, on the renewer's monotonic clock: take it just before sending AddLease and pass it to <see cref="Register(LeaseInfo, long, TimeSpan?)"/>.</summary>
    public long GetTimestamp() => Mono.Now;

    /// <summary>
    /// Registers a path just opened with AddLease. <paramref name="requestSentTimestamp"/> is
    /// <see cref="GetTimestamp"/> taken before the AddLease was sent: the grant counts from then.
    /// <paramref name="rpcTimeout"/>, when given, caps the renewal period at half of it (as HDFS does
    /// for a client's timeout).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The renewer was disposed.</exception>
    /// <exception cref="InvalidOperationException">The holder already has this path registered (an aborted registration of it is replaced).</exception>
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
            registration = _table.Add(
                holder,
                path,
                requestSentTimestamp,
                softLimit,
                hardLimit,
                (sequence, bound) => new LeaseRegistration(this, holder, path, epoch, sequence, bound, rpcTimeout));
            _loop ??= new RenewalLoop(Name, _lock, _table, _broadcaster, _transport, _options, _logger, EvaluatePass, _stopping.Token);
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
            return _table.Status(holder, Mono.Now, TimeProvider.GetUtcNow());
        }
    }

    /// <summary>Every holder with open paths.</summary>
    public IReadOnlyList<LeaseHolderStatus> GetStatuses()
    {
        lock (_lock)
        {
            return _table.Statuses(Mono.Now, TimeProvider.GetUtcNow());
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
        bool disposed;
        lock (_lock)
        {
            disposed = _disposed;
        }

        var channel = disposed ? null : _broadcaster.Subscribe();
        if (channel is null)
        {
            yield break;
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
            _broadcaster.Unsubscribe(channel);
        }
    }

    /// <summary>Stops renewing at once, aborts every open path (<see cref="LeaseAbortReason.RenewerDisposed"/>) and ends the watchers.</summary>
    public async ValueTask DisposeAsync()
    {
        RenewalLoop? loop;
        List<LeaseRegistration> registrations;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loop = _loop;
            registrations = _table.Clear();
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            try
            {
                await loop.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        lock (_lock)
        {
            _loop = null;
        }

        foreach (var registration in registrations)
        {
            registration.Abort(LeaseAbortReason.RenewerDisposed);
        }

        _broadcaster.Complete();
        _transport.Dispose();
        _stopping.Dispose();
        _onDisposed?.Invoke(this);
    }

    /// <summary>True when <paramref name="path"/> of <paramref name="holder"/> is registered and not yet aborted here.</summary>
    internal bool IsRegistered(string holder, string path)
    {
        lock (_lock)
        {
            return _table.Contains(holder, path);
        }
    }

    /// <summary>True when a newer registration of the same holder and path has taken this one's place.</summary>
    internal bool IsSuperseded(LeaseRegistration registration)
    {
        lock (_lock)
        {
            return _table.IsSuperseded(registration);
        }
    }

    /// <summary>Wakes the loop to evaluate now (registration changed, a bound passed).</summary>
    internal void Signal()
    {
        lock (_lock)
        {
            _loop?.SignalLocked();
        }
    }

    /// <summary>
    /// Stops renewing <paramref name="registration"/> and trips its token. <paramref name="closed"/>:
    /// its close succeeded. A path the application abandoned (<see cref="LeaseAbortReason.Unregistered"/>
    /// without a close) stays the holder's on the server, renewed with its other paths, so renewals
    /// go on counting it.
    /// </summary>
    internal void Unregister(LeaseRegistration registration, LeaseAbortReason reason, bool closed = false)
    {
        lock (_lock)
        {
            _table.Remove(registration, Mono.Now, mayStillBeHeld: reason == LeaseAbortReason.Unregistered && !closed);
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

    /// <summary>One evaluation of every holder, for the loop: applies it, and ends the loop's run when the table was empty for the grace period.</summary>
    private EvaluationPass EvaluatePass(RenewalLoop loop)
    {
        var now = Mono.Now;
        EvaluationPass pass;
        lock (_lock)
        {
            pass = _table.Evaluate(now, mayExit: !_disposed);
            if (pass.Exit && _loop == loop)
            {
                _loop = null;
            }
        }

        _broadcaster.Publish(pass.Effects);
        if (pass.Exit)
        {
            RenewerLog.StoppedIdle(_logger, Name, _options.GracePeriod);
        }

        return pass;
    }
}
