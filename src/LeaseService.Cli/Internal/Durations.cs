using System.Globalization;

namespace LeaseService.Cli.Internal;

/// <summary>Durations in tables (parsing: <see cref="LeaseService.Shared.DurationText"/>).</summary>
internal static class Durations
{
    /// <summary>Short human form: <c>9.5s</c>, <c>2m05s</c>, <c>1h02m</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            return "0s";
        }

        if (value >= TimeSpan.FromHours(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalHours}h{value.Minutes:00}m");
        }

        if (value >= TimeSpan.FromMinutes(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalMinutes}m{value.Seconds:00}s");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Math.Round(value.TotalSeconds, 1)}s");
    }
}
