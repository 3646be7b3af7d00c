using System.Globalization;
using System.Text;

namespace LeaseService.Server.Metrics;

/// <summary>
/// The Prometheus text exposition format (version 0.0.4): metric and label names, units as
/// suffixes, escaping and number formatting. Names follow the OpenTelemetry-to-Prometheus rules:
/// <c>leaseservice.lease.grants</c> (a counter) becomes <c>leaseservice_lease_grants_total</c>,
/// <c>rpc.server.call.duration</c> in <c>s</c> becomes <c>rpc_server_call_duration_seconds</c>.
/// </summary>
internal static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The exposed name of an instrument: sanitized, unit suffix, <c>_total</c> for counters.</summary>
    public static string MetricName(string instrumentName, string? unit, MetricKind kind)
    {
        var name = Sanitize(instrumentName, allowColon: true);
        if (kind == MetricKind.Counter && name.EndsWith("_total", StringComparison.Ordinal))
        {
            name = name[..^"_total".Length];
        }

        var suffix = UnitSuffix(unit, kind);
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal) && name != suffix)
        {
            name = name + "_" + suffix;
        }

        return kind == MetricKind.Counter ? name + "_total" : name;
    }

    /// <summary>A label name: <c>[a-zA-Z_][a-zA-Z0-9_]*</c>, so <c>server.port</c> becomes <c>server_port</c>.</summary>
    public static string LabelName(string key) => Sanitize(key, allowColon: false);

    /// <summary>
    /// The suffix for an OpenTelemetry (UCUM) unit: <c>s</c> → <c>seconds</c>, <c>By</c> → <c>bytes</c>,
    /// <c>{call}</c> → none, <c>By/s</c> → <c>bytes_per_second</c>, <c>1</c> → <c>ratio</c> (not for counters).
    /// </summary>
    public static string UnitSuffix(string? unit, MetricKind kind)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return string.Empty;
        }

        if (unit == "1")
        {
            return kind == MetricKind.Counter ? string.Empty : "ratio";
        }

        var slash = unit.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var numerator = Unit(unit[..slash], plural: true);
            var denominator = Unit(unit[(slash + 1)..], plural: false);
            return (numerator, denominator) switch
            {
                ("", "") => string.Empty,
                ("", _) => "per_" + denominator,
                (_, "") => numerator,
                _ => numerator + "_per_" + denominator,
            };
        }

        return Unit(unit, plural: true);
    }

    /// <summary>Writes a label value between quotes: backslash, double quote and line feed escaped.</summary>
    public static void AppendLabelValue(StringBuilder builder, string value)
    {
        builder.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    builder.Append(@"\\");
                    break;
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\n':
                    builder.Append(@"\n");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        builder.Append('"');
    }

    /// <summary>HELP text: backslash and line feed escaped.</summary>
    public static string EscapeHelp(string text)
        => text.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal);

    /// <summary>A sample value or bucket bound: shortest round-trip form, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public static string FormatDouble(double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }

        return double.IsNaN(value) ? "NaN" : value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A tag value as label text: strings as they are, numbers invariant, booleans lower case.</summary>
    public static string FormatTagValue(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        double d => FormatDouble(d),
        float f => FormatDouble(f),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static string Unit(string unit, bool plural)
    {
        if (unit.StartsWith('{') && unit.EndsWith('}'))
        {
            return string.Empty; // An annotation such as {call}: a count, no unit.
        }

        var name = unit switch
        {
            "d" => "day",
            "h" => "hour",
            "min" => "minute",
            "s" => "second",
            "ms" => "millisecond",
            "us" or "μs" => "microsecond",
            "ns" => "nanosecond",
            "By" => "byte",
            "KiBy" => "kibibyte",
            "MiBy" => "mebibyte",
            "GiBy" => "gibibyte",
            "KBy" => "kilobyte",
            "MBy" => "megabyte",
            "GBy" => "gigabyte",
            "bit" => "bit",
            "Hz" => "hertz",
            "%" => "percent",
            _ => null,
        };
        if (name is null)
        {
            return Sanitize(unit, allowColon: false).Trim('_');
        }

        return plural && name != "percent" && name != "hertz" ? name + "s" : name;
    }

    private static string Sanitize(string name, bool allowColon)
    {
        var builder = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            var valid = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' || (allowColon && c == ':');
            var next = valid ? c : '_';
            if (next == '_' && builder.Length > 0 && builder[^1] == '_')
            {
                continue; // Collapse runs: "a..b" → "a_b".
            }

            builder.Append(next);
        }

        if (builder.Length == 0 || builder[0] is >= '0' and <= '9')
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }
}

/// <summary>How an instrument is exposed.</summary>
internal enum MetricKind
{
    /// <summary>Monotonic total: Counter, ObservableCounter.</summary>
    Counter,

    /// <summary>A value that goes up and down: UpDownCounter, Gauge and their observable forms.</summary>
    Gauge,

    /// <summary>Histogram with cumulative buckets, sum and count.</summary>
    Histogram,
}
