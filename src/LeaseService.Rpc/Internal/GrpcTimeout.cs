using System.Globalization;

namespace LeaseService.Rpc.Internal;

/// <summary>
/// grpc-timeout: 1 to 8 ASCII digits then a unit, H M S m u n
/// (hours, minutes, seconds, milliseconds, microseconds, nanoseconds).
/// </summary>
internal static class GrpcTimeout
{
    /// <summary>The largest timeout (99,999,999 s), as C-core clamps it.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(99_999_999);

    public static bool TryParse(string? value, out TimeSpan timeout)
    {
        timeout = default;
        // The grammar allows 1 to 8 digits; like C-core and grpc-dotnet we accept more (up to 18,
        // so the value cannot overflow) and clamp to Max.
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 19)
        {
            return false;
        }

        long amount = 0;
        for (var i = 0; i < value.Length - 1; i++)
        {
            var c = value[i];
            if (c is < '0' or > '9')
            {
                return false;
            }

            amount = (amount * 10) + (c - '0');
        }

        var ticks = value[^1] switch
        {
            'H' => (decimal)amount * TimeSpan.TicksPerHour,
            'M' => (decimal)amount * TimeSpan.TicksPerMinute,
            'S' => (decimal)amount * TimeSpan.TicksPerSecond,
            'm' => (decimal)amount * TimeSpan.TicksPerMillisecond,
            'u' => (decimal)amount * TimeSpan.TicksPerMicrosecond,
            'n' => Math.Ceiling(amount / 100m),
            _ => -1m,
        };
        if (ticks < 0)
        {
            return false;
        }

        timeout = ticks >= Max.Ticks ? Max : TimeSpan.FromTicks((long)ticks);
        return true;
    }

    /// <summary>Encodes the time left, rounded up, in the finest unit whose value fits 8 digits.</summary>
    public static string Format(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return "1n";
        }

        if (timeout >= Max)
        {
            return "99999999S";
        }

        var ticks = timeout.Ticks;
        const long MaxValue = 99_999_999;
        if (ticks * 100 <= MaxValue)
        {
            return (ticks * 100).ToString(CultureInfo.InvariantCulture) + "n";
        }

        var micros = CeilDiv(ticks, TimeSpan.TicksPerMicrosecond);
        if (micros <= MaxValue)
        {
            return micros.ToString(CultureInfo.InvariantCulture) + "u";
        }

        var millis = CeilDiv(ticks, TimeSpan.TicksPerMillisecond);
        if (millis <= MaxValue)
        {
            return millis.ToString(CultureInfo.InvariantCulture) + "m";
        }

        var seconds = CeilDiv(ticks, TimeSpan.TicksPerSecond);
        if (seconds <= MaxValue)
        {
            return seconds.ToString(CultureInfo.InvariantCulture) + "S";
        }

        return CeilDiv(ticks, TimeSpan.TicksPerMinute).ToString(CultureInfo.InvariantCulture) + "M";
    }

    private static long CeilDiv(long value, long divisor) => (value + divisor - 1) / divisor;
}
