using System.Text;

namespace LeaseService.Server.Metrics;

/// <summary>
/// The aggregate of one instrument for one set of tags: a running total, the last value, or
/// histogram buckets. Updated lock-free from the measurement callbacks.
/// </summary>
internal sealed class MetricSeries
{
    private readonly long[]? _buckets;
    private long _long;
    private double _double;
    private double _sum;

    public MetricSeries(KeyValuePair<string, object?>[] tags, int hash, int bucketCount)
    {
        Tags = tags;
        Hash = hash;
        Labels = RenderLabels(tags);
        _buckets = bucketCount > 0 ? new long[bucketCount] : null;
    }

    /// <summary>The tags exactly as first measured (their order may differ between measurements).</summary>
    public KeyValuePair<string, object?>[] Tags { get; }

    public int Hash { get; }

    /// <summary>Rendered once: <c>a="x",b="y"</c>, sorted by label name; empty without tags.</summary>
    public string Labels { get; }

    /// <summary>The next series in the same hash bucket.</summary>
    public MetricSeries? Next { get; set; }

    /// <summary>The collection that last observed this series (observable instruments only).</summary>
    public long ObservedIn;

    public long LongValue => Volatile.Read(ref _long);

    public double DoubleValue => Volatile.Read(ref _double);

    public double Sum => Volatile.Read(ref _sum);

    public void Add(long value) => Interlocked.Add(ref _long, value);

    public void Add(double value) => AddDouble(ref _double, value);

    public void Set(long value) => Volatile.Write(ref _long, value);

    public void Set(double value) => Volatile.Write(ref _double, value);

    /// <summary>Counts <paramref name="value"/> in the first bucket whose bound is ≥ it (the last is +Inf).</summary>
    public void Record(double value, double[] bounds)
    {
        var index = 0;
        while (index < bounds.Length && value > bounds[index])
        {
            index++;
        }

        Interlocked.Increment(ref _buckets![index]);
        AddDouble(ref _sum, value);
    }

    /// <summary>Non-cumulative bucket counts; the last one is the +Inf overflow.</summary>
    public void CopyBuckets(Span<long> destination)
    {
        for (var i = 0; i < _buckets!.Length; i++)
        {
            destination[i] = Volatile.Read(ref _buckets[i]);
        }
    }

    /// <summary>True when <paramref name="tags"/> is this series' tag set, in any order.</summary>
    public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length != Tags.Length)
        {
            return false;
        }

        for (var i = 0; i < tags.Length; i++)
        {
            // Same order is the common case: one call site, one TagList.
            var found = string.Equals(tags[i].Key, Tags[i].Key, StringComparison.Ordinal) ? i : IndexOf(tags[i].Key);
            if (found < 0 || !Equals(tags[i].Value, Tags[found].Value))
            {
                return false;
            }
        }

        return true;
    }

    private int IndexOf(string key)
    {
        for (var i = 0; i < Tags.Length; i++)
        {
            if (string.Equals(Tags[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static void AddDouble(ref double location, double value)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current + value, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }

    private static string RenderLabels(KeyValuePair<string, object?>[] tags)
    {
        if (tags.Length == 0)
        {
            return string.Empty;
        }

        var labels = new (string Name, string Value)[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            labels[i] = (PrometheusText.LabelName(tags[i].Key), PrometheusText.FormatTagValue(tags[i].Value));
        }

        Array.Sort(labels, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var builder = new StringBuilder();
        string? previous = null;
        foreach (var (name, value) in labels)
        {
            if (name == previous)
            {
                continue; // Two tags that sanitize to one label name: the first wins.
            }

            if (builder.Length > 0)
            {
                builder.Append(',');
            }

            builder.Append(name).Append('=');
            PrometheusText.AppendLabelValue(builder, value);
            previous = name;
        }

        return builder.ToString();
    }
}
