namespace LeaseService.Client.Renewal.Internal;

/// <summary>Conversions between durations and ticks of a <see cref="TimeProvider"/>'s timestamp.</summary>
internal readonly struct MonotonicTime(TimeProvider timeProvider)
{
    private readonly long _frequency = timeProvider.TimestampFrequency;

    public long Now => timeProvider.GetTimestamp();

    public long ToTicks(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return 0;
        }

        var ticks = duration.Ticks * (double)_frequency / TimeSpan.TicksPerSecond;
        return ticks >= long.MaxValue / 4 ? long.MaxValue / 4 : (long)Math.Round(ticks);
    }

    public TimeSpan ToTimeSpan(long ticks)
        => ticks <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks((long)Math.Round(ticks * (double)TimeSpan.TicksPerSecond / _frequency));
}
