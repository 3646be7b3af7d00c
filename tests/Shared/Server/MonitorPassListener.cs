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
    private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;

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
            List<TaskCompletionSource> reached = [];
            lock (_gate)
            {
                done = _next;
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _count++;
                for (var i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (_waiters[i].Count <= _count)
                    {
                        reached.Add(_waiters[i].Done);
                        _waiters.RemoveAt(i);
                    }
                }
            }

            done.TrySetResult();
            reached.ForEach(r => r.TrySetResult());
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

    /// <summary>Passes ended so far.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Completes once <paramref name="count"/> passes have ended in all (at once if they have).</summary>
    public Task WhenCount(int count)
    {
        lock (_gate)
        {
            if (_count >= count)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, done));
            return done.Task;
        }
    }

    public void Dispose() => _listener.Dispose();
}
