using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.Client.Renewal;

/// <summary>
/// Settings of every <see cref="LeaseRenewer"/> a <see cref="LeaseRenewerFactory"/> creates.
/// Immutable: build a new record with <c>with { ... }</c>. Checked by <see cref="Validate"/> when a
/// factory is created.
/// </summary>
public sealed record LeaseRenewerOptions
{
    /// <summary>Defaults: drift margin 2 s, grace period 60 s, retries about every second.</summary>
    public static LeaseRenewerOptions Default { get; } = new();

    /// <summary>
    /// Subtracted from every validity bound: a lease counts as held until (monotonic time the
    /// renewal was <em>sent</em>) + soft limit − this margin. Covers clock-rate drift between this
    /// process and the server and the time a writer needs to stop. Default 2 s; at least zero and
    /// less than the soft limit the server reports (a larger one makes every lease look expired).
    /// </summary>
    public TimeSpan DriftMargin { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the background task lingers after the last path closes, so a process that closes
    /// and reopens files does not start a task each time. Default 60 s; at least 100 ms (as HDFS).
    /// </summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Upper bound on the renewal period. <c>null</c> (default): half the soft limit the server
    /// reports, or half the smallest RPC timeout a registration declared, whichever is smaller.
    /// </summary>
    public TimeSpan? MaxRenewalPeriod { get; init; }

    /// <summary>Pause before retrying a failed renewal (UNAVAILABLE, transport error, timeout). Default 1 s.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Random spread of <see cref="RetryInterval"/>, as a fraction (0.2 = ±20 %). Default 0.2; 0 to 1.</summary>
    public double RetryJitter { get; init; } = 0.2;

    /// <summary>
    /// Deadline of one renewal attempt, so one hung call cannot hold back the other holders
    /// (one renewal is in flight at a time). Default 5 s; positive.
    /// </summary>
    public TimeSpan RenewalTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A holder whose last renewal failed is in <see cref="LeaseHolderState.Jeopardy"/> once its
    /// validity bound is this close. <c>null</c> (default): a quarter of the soft limit.
    /// </summary>
    public TimeSpan? JeopardyWindow { get; init; }

    /// <summary>How many state changes a slow <see cref="LeaseRenewer.WatchAsync"/> reader may lag before the oldest are dropped. Default 64; positive.</summary>
    public int WatchCapacity { get; init; } = 64;

    /// <summary>Settings of the renewer's own connection to the server (one per renewer). <c>null</c>: the defaults.</summary>
    public LeaseClientOptions? ClientOptions { get; init; }

    /// <summary>Monotonic clock and timers. Default <see cref="TimeProvider.System"/>; tests inject a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Source of retry jitter. <c>null</c> (default): <see cref="Random.Shared"/>.</summary>
    public Random? Random { get; init; }

    /// <summary>Logging. Default: none.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (DriftMargin < TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(DriftMargin)} must not be negative.", nameof(DriftMargin));
        }

        if (GracePeriod < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentException($"{nameof(GracePeriod)} = {GracePeriod} < 100ms is too small.", nameof(GracePeriod));
        }

        if (MaxRenewalPeriod is { } period && period <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(MaxRenewalPeriod)} must be positive.", nameof(MaxRenewalPeriod));
        }

        if (RetryInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(RetryInterval)} must be positive.", nameof(RetryInterval));
        }

        if (RetryJitter is < 0 or > 1 || double.IsNaN(RetryJitter))
        {
            throw new ArgumentException($"{nameof(RetryJitter)} must be between 0 and 1.", nameof(RetryJitter));
        }

        if (RenewalTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(RenewalTimeout)} must be positive.", nameof(RenewalTimeout));
        }

        if (JeopardyWindow is { } window && window < TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(JeopardyWindow)} must not be negative.", nameof(JeopardyWindow));
        }

        if (WatchCapacity <= 0)
        {
            throw new ArgumentException($"{nameof(WatchCapacity)} must be positive.", nameof(WatchCapacity));
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
    }
}
