namespace LeaseService.Client.Renewal.Internal;

/// <summary>The renewer's settings in timestamp ticks, as the holder table uses them.</summary>
/// <param name="Mono">Conversions between durations and timestamp ticks (the table never reads <see cref="MonotonicTime.Now"/>).</param>
/// <param name="DriftTicks">The drift margin in ticks.</param>
/// <param name="MaxPeriod">The cap on the renewal period, if any.</param>
/// <param name="JeopardyWindow">The jeopardy window; null for a quarter of the soft limit.</param>
/// <param name="GraceTicks">How long the loop lingers with no holder, in ticks.</param>
/// <param name="RetryInterval">Pause before retrying after a NOT_FOUND that hit no path.</param>
internal readonly record struct RenewalPolicy(MonotonicTime Mono, long DriftTicks, TimeSpan? MaxPeriod, TimeSpan? JeopardyWindow, long GraceTicks, TimeSpan RetryInterval);
