using System.Globalization;

namespace LeaseService.Testing;

/// <summary>Reads one sample out of Prometheus text.</summary>
public static class PrometheusSample
{
    /// <summary>
    /// The value of the one sample named as <paramref name="series"/> (<c>name</c> or
    /// <c>name{a="x",b="y"}</c>) whose labels include the given ones; other labels (such as the
    /// exporter's <c>otel_scope_name</c>) are ignored.
    /// </summary>
    public static double Value(string text, string series)
    {
        var (name, labels) = Split(series);
        var matches = text.Split('\n')
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => (Line: l, Sample: Split(l[..l.LastIndexOf(' ')])))
            .Where(x => x.Sample.Name == name && labels.All(x.Sample.Labels.Contains))
            .ToList();
        if (matches.Count != 1)
        {
            throw new InvalidOperationException($"expected one sample {series}, found {matches.Count}:\n{text}");
        }

        var line = matches[0].Line;
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static (string Name, HashSet<string> Labels) Split(string series)
    {
        var brace = series.IndexOf('{', StringComparison.Ordinal);
        if (brace < 0)
        {
            return (series, []);
        }

        var body = series[(brace + 1)..series.LastIndexOf('}')];
        var labels = new HashSet<string>(StringComparer.Ordinal);
        var start = 0;
        var quoted = false;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '"' && (i == 0 || body[i - 1] != '\\'))
            {
                quoted = !quoted;
            }
            else if (body[i] == ',' && !quoted)
            {
                labels.Add(body[start..i]);
                start = i + 1;
            }
        }

        if (start < body.Length)
        {
            labels.Add(body[start..]);
        }

        return (series[..brace], labels);
    }
}
