using System.Globalization;

namespace LeaseService.Cli.Internal;

/// <summary>Durations on the command line (<c>5s</c>, <c>500ms</c>, <c>2m</c>, <c>1h</c>, <c>00:00:05</c>) and in tables.</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        (string Suffix, double Scale)[] units = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && number >= 0 && !double.IsInfinity(number))
            {
                // Anything beyond TimeSpan's range is a usage error, not a crash.
                var seconds = number * scale;
                if (seconds > TimeSpan.MaxValue.TotalSeconds)
                {
                    return false;
                }

                value = TimeSpan.FromSeconds(seconds);
                return true;
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }

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
