using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace LeaseService.Core.Tests;

/// <summary>
/// A meter of its own and a listener on it alone (tests in parallel never see each other's
/// instruments). Reading a value first collects the observable instruments.
/// </summary>
internal sealed class MeterReader : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _values = new(StringComparer.Ordinal);

    public MeterReader()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _values[instrument.Name] = value);
        _listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => _values[instrument.Name] = value);
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => _values[instrument.Name] = value);
        _listener.Start();
    }

    public Meter Meter { get; } = new(LeaseManager.MeterName);

    /// <summary>The latest value of the observable instrument <paramref name="name"/>.</summary>
    public double this[string name]
    {
        get
        {
            _listener.RecordObservableInstruments();
            return _values.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"No instrument {name} reported.");
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        Meter.Dispose();
    }
}
