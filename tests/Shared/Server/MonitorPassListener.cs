using System.Diagnostics.Metrics;
using LeaseService.Server.Monitoring;

namespace LeaseService.Testing;

/// <summary>
/// A test-side sync point on one server's monitor: every pass records its duration on the
/// <c>leaseservice.monitor.pass.duration</c> histogram, and this listener (scoped to that server's
/// <see cref="IMeterFactory"/>) completes <see cref="NextPass"/> when it does.
/// </summary>
public sealed class MonitorPassListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MonitorPassListener(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == LeaseMonitor.MeterName
                && instrument.Name == "leaseservice.monitor.pass.duration"
                && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) =>
        {
            TaskCompletionSource done;
            lock (_gate)
            {
                done = _next;
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            done.TrySetResult();
        });
        _listener.Start();
    }

    /// <summary>Completes when the next pass ends; take it before moving the clock.</summary>
    public Task NextPass
    {
        get
        {
            lock (_gate)
            {
                return _next.Task;
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
