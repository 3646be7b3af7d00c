using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace LeaseService.Server.Metrics;

/// <summary>
/// Collects System.Diagnostics.Metrics instruments with a <see cref="MeterListener"/> and renders
/// them in the Prometheus text format. Synchronous instruments aggregate as they are recorded;
/// observable ones are read at scrape time.
/// </summary>
/// <remarks>
/// Which instruments: meters whose name is in <c>meterNames</c> and that were created by
/// <c>scope</c> (the host's <see cref="IMeterFactory"/>, so two servers in one process never see
/// each other's instruments), plus any meter, of any scope, named in <c>globalMeterNames</c>
/// (the runtime's process-wide <c>System.Runtime</c>). <c>instrumentFilter</c> can leave
/// instruments of those meters out.
/// </remarks>
internal sealed partial class PrometheusExporter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly object? _scope;
    private readonly HashSet<string> _meterNames;
    private readonly HashSet<string> _globalMeterNames;
    private readonly Func<Instrument, bool> _instrumentFilter;
    private readonly CollectionClock _clock = new();
    private readonly Lock _streamsLock = new();
    private readonly Lock _collectLock = new();
    private readonly Dictionary<Instrument, MetricStream> _streams = [];
    private readonly ILogger _logger;

    public PrometheusExporter(
        object? scope,
        IEnumerable<string> meterNames,
        IEnumerable<string> globalMeterNames,
        ILogger logger,
        Func<Instrument, bool>? instrumentFilter = null)
    {
        _scope = scope;
        _meterNames = new HashSet<string>(meterNames, StringComparer.Ordinal);
        _globalMeterNames = new HashSet<string>(globalMeterNames, StringComparer.Ordinal);
        _instrumentFilter = instrumentFilter ?? (static _ => true);
        _logger = logger;
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.MeasurementsCompleted = OnMeasurementsCompleted;
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((MetricStream)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((MetricStream)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((MetricStream)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((MetricStream)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((MetricStream)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((MetricStream)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((MetricStream)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Reads the observable instruments and renders every metric, sorted by name.</summary>
    public string Collect()
    {
        Exception? failure = null;
        string text;
        lock (_collectLock)
        {
            _clock.Advance();
            try
            {
                _listener.RecordObservableInstruments();
            }
            catch (Exception ex)
            {
                // A callback that throws loses its own values only; the rest are still served.
                failure = ex;
            }

            List<MetricStream> streams;
            lock (_streamsLock)
            {
                streams = [.. _streams.Values];
            }

            var builder = new StringBuilder(16 * 1024);
            foreach (var family in streams.GroupBy(s => s.Name, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                WriteFamily(builder, family.Key, [.. family]);
            }

            text = builder.ToString();
        }

        if (failure is not null)
        {
            LogObservableCallbackFailed(failure);
        }

        return text;
    }

    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        var meter = instrument.Meter;
        var wanted = _globalMeterNames.Contains(meter.Name)
            || (_meterNames.Contains(meter.Name) && ReferenceEquals(meter.Scope, _scope));
        if (!wanted || !_instrumentFilter(instrument) || MetricStream.Create(instrument, _clock) is not { } stream)
        {
            return;
        }

        lock (_streamsLock)
        {
            _streams[instrument] = stream;
        }

        listener.EnableMeasurementEvents(instrument, stream);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        lock (_streamsLock)
        {
            _streams.Remove(instrument);
        }
    }

    private static void WriteFamily(StringBuilder builder, string name, List<MetricStream> streams)
    {
        // Instruments that map to one name (the same instrument in two meters) share HELP and TYPE;
        // one of another kind under the same name cannot be exposed and is left out.
        var first = streams[0];
        var help = first.Instrument.Description is { Length: > 0 } description ? description : first.Instrument.Name;
        builder.Append("# HELP ").Append(name).Append(' ').Append(PrometheusText.EscapeHelp(help)).Append('\n');
        builder.Append("# TYPE ").Append(name).Append(' ').Append(first.Kind switch
        {
            MetricKind.Counter => "counter",
            MetricKind.Histogram => "histogram",
            _ => "gauge",
        }).Append('\n');

        var samples = 0;
        foreach (var stream in streams)
        {
            if (stream.Kind != first.Kind)
            {
                continue;
            }

            var snapshot = stream.Snapshot();
            snapshot.Sort(static (a, b) => string.CompareOrdinal(a.Labels, b.Labels));
            samples += snapshot.Count;
            foreach (var series in snapshot)
            {
                if (stream.Kind == MetricKind.Histogram)
                {
                    WriteHistogram(builder, name, stream.Bounds!, series);
                }
                else
                {
                    WriteSample(builder, name, series.Labels, stream.IsInteger ? series.LongValue.ToString(CultureInfo.InvariantCulture) : PrometheusText.FormatDouble(series.DoubleValue));
                }
            }
        }

        if (samples == 0 && first.Kind != MetricKind.Histogram && !first.IsObservable)
        {
            // A counter nothing was added to yet is 0, so rate() works from the first event.
            WriteSample(builder, name, string.Empty, "0");
        }
    }

    private static void WriteHistogram(StringBuilder builder, string name, double[] bounds, MetricSeries series)
    {
        Span<long> counts = stackalloc long[bounds.Length + 1];
        series.CopyBuckets(counts);
        var bucketName = name + "_bucket";
        var prefix = series.Labels.Length == 0 ? string.Empty : series.Labels + ",";
        long cumulative = 0;
        for (var i = 0; i <= bounds.Length; i++)
        {
            cumulative += counts[i];
            var le = i < bounds.Length ? PrometheusText.FormatDouble(bounds[i]) : "+Inf";
            builder.Append(bucketName).Append('{').Append(prefix).Append("le=\"").Append(le).Append("\"} ")
                .Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        // _count is the +Inf bucket, so the two always agree even while measurements arrive.
        WriteSample(builder, name + "_sum", series.Labels, PrometheusText.FormatDouble(series.Sum));
        WriteSample(builder, name + "_count", series.Labels, cumulative.ToString(CultureInfo.InvariantCulture));
    }

    private static void WriteSample(StringBuilder builder, string name, string labels, string value)
    {
        builder.Append(name);
        if (labels.Length > 0)
        {
            builder.Append('{').Append(labels).Append('}');
        }

        builder.Append(' ').Append(value).Append('\n');
    }

    [LoggerMessage(4001, LogLevel.Warning, "An observable instrument's callback failed during a metrics scrape; its values are missing from this scrape")]
    private partial void LogObservableCallbackFailed(Exception exception);
}
