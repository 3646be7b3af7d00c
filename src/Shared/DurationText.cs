using System.Globalization;

namespace LeaseService.Shared;

/// <summary>
/// Durations as people type them: <c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c> or a TimeSpan
/// (<c>00:00:05</c>); never negative. Linked into the CLI and the server's probe mode.
/// </summary>
internal static class DurationText
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
                // Anything beyond TimeSpan's range is refused, not a crash.
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
}
