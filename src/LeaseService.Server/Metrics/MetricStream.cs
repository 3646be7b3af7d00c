using System.Diagnostics.Metrics;

namespace LeaseService.Server.Metrics;

/// <summary>
/// Everything the exporter keeps for one instrument: how to aggregate it and its series, found by
/// their tags through a small hash table that readers search without locking. Measurements arrive
/// from any thread (synchronous instruments) or from the scrape (observable ones).
/// </summary>
internal sealed class MetricStream
{
    /// <summary>Series per instrument beyond which new tag sets are dropped (a tag with unbounded values is a bug).</summary>
    public const int MaxSeries = 2000;

    private const int BucketCount = 64; // Power of two; chains stay short for the tens of series we expect.

    // Prometheus' default buckets, for histograms in seconds without advice.
    private static readonly double[] DefaultSecondsBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    // OpenTelemetry's default buckets, for other histograms without advice.
    private static readonly double[] DefaultBounds = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MetricSeries?[] _buckets = new MetricSeries?[BucketCount];
    private readonly Lock _insertLock = new();
    private readonly List<MetricSeries> _all = [];
    private readonly CollectionClock _clock;
    private MetricSeries? _untagged;
    private long _dropped;

    private MetricStream(Instrument instrument, MetricKind kind, bool accumulates, bool isInteger, double[]? bounds, CollectionClock clock)
    {
        Instrument = instrument;
        Kind = kind;
        Accumulates = accumulates;
        IsInteger = isInteger;
        Bounds = bounds;
        _clock = clock;
        Name = PrometheusText.MetricName(instrument.Name, instrument.Unit, kind);
    }

    public Instrument Instrument { get; }

    /// <summary>The exposed Prometheus name (sanitized, unit suffix, <c>_total</c>).</summary>
    public string Name { get; }

    public MetricKind Kind { get; }

    /// <summary>Synchronous counters add each measurement; everything else keeps the last value.</summary>
    public bool Accumulates { get; }

    public bool IsInteger { get; }

    /// <summary>Histogram bucket upper bounds (without +Inf); null for other kinds.</summary>
    public double[]? Bounds { get; }

    public bool IsObservable => Instrument.IsObservable;

    /// <summary>Measurements dropped because <see cref="MaxSeries"/> was reached.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>The stream for a supported instrument; null for others (e.g. a decimal instrument type we do not know).</summary>
    public static MetricStream? Create(Instrument instrument, CollectionClock clock)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        var valueType = type.GetGenericArguments()[0];
        var isInteger = valueType == typeof(long) || valueType == typeof(int) || valueType == typeof(short) || valueType == typeof(byte);
        if (definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>))
        {
            return new MetricStream(instrument, MetricKind.Counter, accumulates: !instrument.IsObservable, isInteger, null, clock);
        }

        if (definition == typeof(UpDownCounter<>))
        {
            return new MetricStream(instrument, MetricKind.Gauge, accumulates: true, isInteger, null, clock);
        }

        if (definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>))
        {
            return new MetricStream(instrument, MetricKind.Gauge, accumulates: false, isInteger, null, clock);
        }

        if (definition == typeof(Histogram<>))
        {
            return new MetricStream(instrument, MetricKind.Histogram, accumulates: true, isInteger: false, HistogramBounds(instrument), clock);
        }

        return null;
    }

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (Kind == MetricKind.Histogram)
        {
            Record((double)value, tags);
            return;
        }

        var series = Find(tags);
        if (series is null)
        {
            return;
        }

        if (Accumulates)
        {
            series.Add(value);
        }
        else
        {
            series.Set(value);
            series.ObservedIn = _clock.Current;
        }
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value))
        {
            return;
        }

        var series = Find(tags);
        if (series is null)
        {
            return;
        }

        if (Kind == MetricKind.Histogram)
        {
            series.Record(value, Bounds!);
        }
        else if (IsInteger)
        {
            // Not reached: integer instruments report through the long callback.
            series.Set((long)value);
        }
        else if (Accumulates)
        {
            series.Add(value);
        }
        else
        {
            series.Set(value);
            series.ObservedIn = _clock.Current;
        }
    }

    /// <summary>The series to render: all of them, or for observable instruments those seen in the last collection.</summary>
    public List<MetricSeries> Snapshot()
    {
        lock (_insertLock)
        {
            if (!IsObservable)
            {
                return [.. _all];
            }

            var current = _clock.Current;
            return _all.FindAll(s => s.ObservedIn == current);
        }
    }

    private MetricSeries? Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0 && Volatile.Read(ref _untagged) is { } untagged)
        {
            return untagged;
        }

        var hash = Hash(tags);
        for (var series = Volatile.Read(ref _buckets[hash & (BucketCount - 1)]); series is not null; series = series.Next)
        {
            if (series.Hash == hash && series.Matches(tags))
            {
                return series;
            }
        }

        return Add(tags, hash);
    }

    private MetricSeries? Add(ReadOnlySpan<KeyValuePair<string, object?>> tags, int hash)
    {
        lock (_insertLock)
        {
            ref var head = ref _buckets[hash & (BucketCount - 1)];
            for (var series = head; series is not null; series = series.Next)
            {
                if (series.Hash == hash && series.Matches(tags))
                {
                    return series;
                }
            }

            if (_all.Count >= MaxSeries)
            {
                Interlocked.Increment(ref _dropped);
                return null;
            }

            var created = new MetricSeries(tags.ToArray(), hash, Bounds is null ? 0 : Bounds.Length + 1) { Next = head };
            _all.Add(created);
            Volatile.Write(ref head, created); // Published whole: readers see it fully built or not at all.
            if (tags.Length == 0)
            {
                Volatile.Write(ref _untagged, created);
            }

            return created;
        }
    }

    /// <summary>
    /// Order-independent and cheap: per tag, the key's and value's length and a few characters
    /// rather than a full string hash (the chain compares exactly anyway).
    /// </summary>
    private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = tags.Length;
        foreach (var tag in tags)
        {
            hash += (QuickHash(tag.Key) * 31) ^ (tag.Value is string s ? QuickHash(s) : tag.Value?.GetHashCode() ?? 0);
        }

        return hash;
    }

    private static int QuickHash(string s)
        => s.Length == 0 ? 0 : (s.Length * 397) ^ (s[0] * 31) ^ (s[s.Length / 2] * 17) ^ s[^1] ^ (s[s.Length * 3 / 4] << 7);

    private static double[] HistogramBounds(Instrument instrument)
    {
        IReadOnlyList<double>? advised = instrument switch
        {
            Instrument<double> { Advice.HistogramBucketBoundaries: { } b } => b,
            Instrument<float> { Advice.HistogramBucketBoundaries: { } b } => [.. b.Select(v => (double)v)],
            Instrument<long> { Advice.HistogramBucketBoundaries: { } b } => [.. b.Select(v => (double)v)],
            Instrument<int> { Advice.HistogramBucketBoundaries: { } b } => [.. b.Select(v => (double)v)],
            _ => null,
        };
        if (advised is { Count: > 0 })
        {
            var bounds = advised.Where(double.IsFinite).Distinct().Order().ToArray();
            if (bounds.Length > 0)
            {
                return bounds;
            }
        }

        return instrument.Unit == "s" ? DefaultSecondsBounds : DefaultBounds;
    }
}

/// <summary>Numbers the collections so observable series not reported in the latest one are left out.</summary>
internal sealed class CollectionClock
{
    private long _current;

    public long Current => Volatile.Read(ref _current);

    public long Advance() => Interlocked.Increment(ref _current);
}
